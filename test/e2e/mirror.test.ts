/**
 * Repository mirroring end to end (issue #16, "Mirroring: tags matching the patterns appear and
 * update after a sync; others do not; a push by anyone but the mirror robot is refused"): Debian's
 * docker-registry on loopback as the upstream, images put there with skopeo, a mirror configured
 * through Quay's API on `npm start`, syncs asked for with sync-now and run by the queue consumer,
 * pushes with skopeo as the organization's admin, another robot and the mirror robot.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { registryHost, skopeoCopy } from "./helpers/clients";
import { buildImageLayout } from "./helpers/oci-layout";
import { type RunningServer, startWharf } from "./helpers/server";
import {
  allowOutboundTo,
  putTestImage,
  startDistributionUpstream,
  startWharfUpstream,
  type Upstream,
} from "./helpers/upstream-registries";

const ORG = "mirrors";
let upstream: Upstream;
/** A second Wharf: private repositories, so the sync does Docker's token dance with the mirror's credentials. */
let tokenUpstream: Upstream;
let wharf: RunningServer;
let host: string;
let work: string;
const robots: Record<string, { name: string; token: string }> = {};

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(wharf.url, wharf.adminToken, method, pathname, body);

async function tags(repository: string): Promise<Record<string, string>> {
  const listed = await api("GET", `/repository/${ORG}/${repository}/tag/?onlyActiveTags=true`);
  return Object.fromEntries(
    listed.tags.map((t: { name: string; manifest_digest: string }) => [t.name, t.manifest_digest]),
  );
}

/** Asks for a sync now and waits for it to end; the mirror's status then. */
async function syncNow(repository: string): Promise<string> {
  await api("POST", `/repository/${ORG}/${repository}/mirror/sync-now`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = (await api("GET", `/repository/${ORG}/${repository}/mirror`)).sync_status as string;
    if (status !== "SYNC_NOW" && status !== "SYNCING") return status;
    if (Date.now() > deadline) throw new Error(`sync of ${repository} still ${status}\n${wharf.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `skopeo copy` of a fresh image to `ref` with `credentials` in an auth file; its exit status. */
async function pushAs(credentials: { username: string; password: string }, ref: string): Promise<boolean> {
  const dir = await mkdtemp(path.join(work, "push-"));
  const layout = path.join(dir, "layout");
  await buildImageLayout(layout, "image");
  const authFile = path.join(dir, "auth.json");
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
  await writeFile(authFile, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  try {
    await skopeoCopy(`oci:${layout}:image`, `docker://${host}/${ref}`, { env: { REGISTRY_AUTH_FILE: authFile } });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "wharf-mirror-e2e-"));
  [upstream, tokenUpstream] = await Promise.all([startDistributionUpstream(), startWharfUpstream("upstream")]);
  wharf = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: allowOutboundTo(upstream, tokenUpstream) } });
  host = registryHost(wharf.url);
  await api("POST", "/organization/", { name: ORG, email: "mirrors@example.com" });
  for (const short of ["syncbot", "otherbot"]) {
    const robot = await api("PUT", `/organization/${ORG}/robots/${short}`, {});
    robots[short] = { name: robot.name, token: robot.token };
  }
});

afterAll(async () => {
  await wharf?.stop();
  await upstream?.stop();
  await tokenUpstream?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("a mirrored repository", () => {
  let first: string;

  it("gets the upstream tags the patterns match, and no others", async () => {
    first = (await putTestImage(upstream, "team/app", ["1.0", "1.1", "latest", "dev", "2.0"])).digest;
    await api("POST", "/repository", { namespace: ORG, repository: "app", visibility: "private", description: "" });
    await api("POST", `/repository/${ORG}/app/mirror`, {
      external_reference: `${upstream.host}/team/app`,
      // A Worker cannot skip certificate checks: verify_tls false means plain http (README).
      external_registry_config: { verify_tls: false },
      sync_interval: 86400,
      sync_start_date: "2099-01-01T00:00:00Z",
      robot_username: robots.syncbot!.name,
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["1.*", "latest"] },
    });
    expect(await syncNow("app")).toBe("SUCCESS");
    expect(await tags("app")).toEqual({ "1.0": first, "1.1": first, latest: first });
    // The bytes are the upstream's: pulled through Wharf as the mirror robot.
    const token = await fetch(`${wharf.url}/v2/auth?scope=repository:${ORG}/app:pull&service=${host}`, {
      headers: {
        Authorization: `Basic ${Buffer.from(`${robots.syncbot!.name}:${robots.syncbot!.token}`).toString("base64")}`,
      },
    }).then(async (r) => ((await r.json()) as { token: string }).token);
    const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    const local = await fetch(`${wharf.url}/v2/${ORG}/app/manifests/1.0`, {
      headers: { Authorization: `Bearer ${token}`, Accept: accept },
    });
    const remote = await fetch(`${upstream.url}/v2/team/app/manifests/1.0`, { headers: { Accept: accept } });
    expect(Buffer.from(await local.arrayBuffer())).toEqual(Buffer.from(await remote.arrayBuffer()));
  });

  it("follows the upstream on the next sync: moved tags move, new matches appear, others stay out", async () => {
    const moved = (await putTestImage(upstream, "team/app", ["1.1", "1.2", "3.0"])).digest;
    expect(moved).not.toBe(first);
    expect(await syncNow("app")).toBe("SUCCESS");
    expect(await tags("app")).toEqual({ "1.0": first, "1.1": moved, "1.2": moved, latest: first });
  });

  it("refuses a push by anyone but the mirror robot", async () => {
    const admin = await wharf.credentialsFor("olga");
    await api("PUT", `/organization/${ORG}/team/owners/members/olga`);
    await api("PUT", `/repository/${ORG}/app/permissions/user/${robots.otherbot!.name}`, { role: "write" });
    expect(await pushAs(admin, `${ORG}/app:by-admin`)).toBe(false);
    expect(
      await pushAs({ username: robots.otherbot!.name, password: robots.otherbot!.token }, `${ORG}/app:by-other`),
    ).toBe(false);
    expect(
      await pushAs({ username: robots.syncbot!.name, password: robots.syncbot!.token }, `${ORG}/app:by-robot`),
    ).toBe(true);
    expect(Object.keys(await tags("app")).sort()).toEqual(["1.0", "1.1", "1.2", "by-robot", "latest"]);
  });
});

describe("a mirror of a registry that wants a token", () => {
  it("syncs with the mirror's sealed credentials through the token dance, and fails without them", async () => {
    const pushed = (await putTestImage(tokenUpstream, "upstream/app", ["v1", "v2", "other"])).digest;
    await api("POST", "/repository", { namespace: ORG, repository: "private", visibility: "private", description: "" });
    await api("POST", `/repository/${ORG}/private/mirror`, {
      external_reference: `${tokenUpstream.host}/upstream/app`,
      external_registry_config: { verify_tls: false },
      sync_interval: 86400,
      sync_start_date: "2099-01-01T00:00:00Z",
      robot_username: robots.syncbot!.name,
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["v?"] },
    });
    // No credentials: the upstream's repository is private, the sync fails and keeps its retries' count.
    expect(await syncNow("private")).toBe("FAIL");
    expect(await tags("private")).toEqual({});
    await api("PUT", `/repository/${ORG}/private/mirror`, {
      external_registry_username: tokenUpstream.credentials!.username,
      external_registry_password: tokenUpstream.credentials!.password,
    });
    const view = await api("GET", `/repository/${ORG}/private/mirror`);
    expect(JSON.stringify(view)).not.toContain(tokenUpstream.credentials!.password);
    expect(await syncNow("private")).toBe("SUCCESS");
    expect(await tags("private")).toEqual({ v1: pushed, v2: pushed });
  });
});
