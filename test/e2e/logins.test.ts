/**
 * Registry clients (podman and skopeo) log in with each kind of credential Wharf takes, then push
 * and pull with it: a password, an application token (as the password, and as `$app`), and an
 * OAuth token as `$oauthtoken`. Refused credentials fail the login itself. Robots: see
 * robot-logins.test.ts. Password guessing meets the login limits (src/identity/login-limits.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { login, registryHost, skopeoCopy, skopeoInspectRaw } from "./helpers/clients";
import { buildImageLayout, sha256 } from "./helpers/oci-layout";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let tmp: string;
let layout: string;
let manifestDigest: string;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-logins-"));
  layout = path.join(tmp, "layout");
  manifestDigest = (await buildImageLayout(layout, "1", { layers: 1, layerSize: () => 2048 })).manifest.digest;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function appToken(title: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/user/apptoken`, {
    method: "POST",
    headers: { Authorization: `Bearer ${wharf.adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: { token_code: string } }).token.token_code;
}

/** Logs in with `credentials`, pushes the image to `repo`, and reads it back. */
async function pushAndPull(
  credentials: { username: string; password: string },
  repo: string,
  client: "podman" | "skopeo" = "podman",
): Promise<void> {
  await login(host, credentials, path.join(tmp, `${repo.replace(/\W/g, "-")}.json`), client);
  const ref = `docker://${host}/${repo}:1`;
  await skopeoCopy(`oci:${layout}:1`, ref);
  expect(sha256(await skopeoInspectRaw(ref))).toBe(manifestDigest);
  await skopeoCopy(ref, `oci:${path.join(tmp, repo.replace(/\W/g, "-"))}:1`);
}

describe("podman login, then push and pull, with", () => {
  const run = Math.random().toString(36).slice(2, 8);

  it("a password", async () => {
    await pushAndPull(await wharf.credentialsFor("e2e"), `e2e/login-password-${run}`);
  });

  it("an application token as the password and as $app", async () => {
    const code = await appToken(`e2e ${run}`);
    await pushAndPull({ username: "admin", password: code }, `admin/login-app-${run}`);
    await pushAndPull({ username: "$app", password: code }, `admin/login-app-as-app-${run}`);
  });

  it("an OAuth token as $oauthtoken", async () => {
    await pushAndPull({ username: "$oauthtoken", password: wharf.adminToken }, `admin/login-oauth-${run}`);
  });

  it("skopeo login: a password and an application token", async () => {
    await pushAndPull(await wharf.credentialsFor("e2e"), `e2e/skopeo-password-${run}`, "skopeo");
    await pushAndPull(
      { username: "admin", password: await appToken(`skopeo ${run}`) },
      `admin/skopeo-app-${run}`,
      "skopeo",
    );
  });

  it("refuses a wrong password and a revoked application token at login", async () => {
    const { username } = await wharf.credentialsFor("e2e");
    await expect(login(host, { username, password: "not-the-password" }, path.join(tmp, "wrong.json"))).rejects.toThrow(
      /exit/,
    );
    const code = await appToken(`revoked ${run}`);
    const list = (await (
      await fetch(`${base}/api/v1/user/apptoken`, { headers: { Authorization: `Bearer ${wharf.adminToken}` } })
    ).json()) as {
      tokens: { uuid: string; title: string }[];
    };
    const uuid = list.tokens.find((t) => t.title === `revoked ${run}`)!.uuid;
    await fetch(`${base}/api/v1/user/apptoken/${uuid}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${wharf.adminToken}` },
    });
    await expect(login(host, { username: "$app", password: code }, path.join(tmp, "revoked.json"))).rejects.toThrow(
      /exit/,
    );
  });
});

describe("login limits under npm start", () => {
  const run = Math.random().toString(36).slice(2, 8);

  it("a guessed account answers 429 with Retry-After, podman's login with the right password fails too; the raised per-address limit holds", async () => {
    const owner = await wharf.credentialsFor(`guessed${run}`);
    const auth = (password: string) =>
      fetch(`${base}/v2/auth`, {
        headers: { Authorization: `Basic ${Buffer.from(`${owner.username}:${password}`).toString("base64")}` },
      });
    // More than 20 failures from this one (local) address: the suite runs with LOGIN_FAILURES_PER_IP=1000.
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${base}/v2/auth`, {
        headers: { Authorization: `Basic ${Buffer.from(`nobody${run}-${i}:guess`).toString("base64")}` },
      });
      expect(res.status).toBe(401);
    }
    for (let i = 0; i < 5; i++) expect((await auth(`guess-${i}`)).status).toBe(401);
    // Each failure after a wait doubles it: wait the short ones out until a wait of 8 s or more
    // runs, so that the checks below land inside it even on a busy machine.
    let retryAfter = 0;
    for (let i = 0; i < 8 && retryAfter < 8; i++) {
      const res = await auth(`again-${i}`);
      await res.arrayBuffer();
      if (res.status === 401) continue;
      expect(res.status).toBe(429);
      retryAfter = Number(res.headers.get("Retry-After"));
      if (retryAfter < 8) await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    }
    expect(retryAfter).toBeGreaterThanOrEqual(8);
    const refused = await auth(owner.password);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("TOOMANYREQUESTS");
    await expect(login(host, owner, path.join(tmp, "throttled.json"))).rejects.toThrow(/429|too many/i);
  });
});
