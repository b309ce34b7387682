/**
 * Quay's read-only mode (REGISTRY_STATE=readonly, src/middleware/read-only.ts): with the same data,
 * the Worker run with `readonly` serves pulls and reads, refuses every write with Quay's answer
 * (405 DENIED with `is_readonly` on /v2, 503 `{"message", "is_readonly"}` on /api/v1, 503 on the
 * other write surfaces), still signs people in, grants no push at /v2/auth, and its Cron Trigger
 * writes nothing. Fixtures are made with the tests' normal environment first.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { findRepository } from "../../../src/registry/repositories";
import worker from "../../../src/index";
import { READ_ONLY_MESSAGE } from "../../../src/middleware/read-only";
import { basic, db, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { answerOf, api, expectQuayError, initializeAdmin } from "../helpers/api";
import { FakeUpstream, proxyApi, proxyEnv, proxyWorker } from "../helpers/proxy-cache";
import { BASE, registryToken, sha256 } from "../helpers/registry";

const readOnlyEnv = { ...env, REGISTRY_STATE: "readonly" } as unknown as Env;

/** A request through the whole app, run read-only. */
async function readOnly(method: string, path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  if (typeof init.body === "string" && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`${BASE}${path}`, { ...init, method, headers }), readOnlyEnv, ctx);
  await waitOnExecutionContext(ctx);
  return answerOf(res);
}

/** Quay's /v2 refusal (endpoints/v2/errors.py ReadOnlyMode). */
function expectV2ReadOnly(res: { status: number; json: any }) {
  expect(res.status).toBe(405);
  expect(res.json).toEqual({ errors: [{ code: "DENIED", message: READ_ONLY_MESSAGE, detail: {}, is_readonly: true }] });
}

/** Quay's API refusal (`{"message", "is_readonly"}`, 503), with Wharf's error fields. */
function expectApiReadOnly(res: { status: number; json: any }) {
  expectQuayError(res, 503, "service_unavailable", READ_ONLY_MESSAGE);
  expect(res.json).toMatchObject({ message: READ_ONLY_MESSAGE, is_readonly: true });
}

let admin: string;
let rita: string;
let digest: string;
const REPO = "rita/app";

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "rita");
  rita = await tokenFor("rita");
  digest = await pushTaggedAs("rita", REPO, "v1");
});

afterEach(() => vi.restoreAllMocks());

describe("REGISTRY_STATE=readonly on /v2", () => {
  const pullPush = () =>
    registryToken([{ type: "repository", name: REPO, actions: ["pull", "push", "delete"] }], "rita");

  it("serves pulls: the manifest by tag and digest, and its blobs", async () => {
    const token = await pullPush();
    const manifest = await readOnly("GET", `/v2/${REPO}/manifests/v1`, {
      token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("Docker-Content-Digest")).toBe(digest);
    const layer = manifest.json.layers[0].digest;
    expect((await readOnly("GET", `/v2/${REPO}/blobs/${layer}`, { token })).status).toBe(200);
    expect((await readOnly("HEAD", `/v2/${REPO}/manifests/${digest}`, { token })).status).toBe(200);
    expect((await readOnly("GET", `/v2/${REPO}/tags/list`, { token })).json.tags).toEqual(["v1"]);
  });

  it("refuses every write, before credentials, with Quay's DENIED and nothing written", async () => {
    const token = await pullPush();
    const bytes = "a layer that never lands";
    const digestOf = await sha256(bytes);
    expectV2ReadOnly(await readOnly("POST", `/v2/${REPO}/blobs/uploads/?digest=${digestOf}`, { token, body: bytes }));
    expectV2ReadOnly(await readOnly("POST", `/v2/${REPO}/blobs/uploads/`, { token }));
    expectV2ReadOnly(await readOnly("PATCH", `/v2/${REPO}/blobs/uploads/some-upload`, { token, body: bytes }));
    expectV2ReadOnly(await readOnly("PUT", `/v2/${REPO}/blobs/uploads/some-upload?digest=${digestOf}`, { token }));
    expectV2ReadOnly(await readOnly("DELETE", `/v2/${REPO}/blobs/uploads/some-upload`, { token }));
    expectV2ReadOnly(await readOnly("PUT", `/v2/${REPO}/manifests/v2`, { token, body: "{}" }));
    expectV2ReadOnly(await readOnly("DELETE", `/v2/${REPO}/manifests/${digest}`, { token }));
    expectV2ReadOnly(await readOnly("DELETE", `/v2/${REPO}/blobs/${digestOf}`, { token }));
    // Anonymous and to a repository that does not exist: the same answer, which reveals nothing.
    expectV2ReadOnly(await readOnly("POST", "/v2/rita/new-one/blobs/uploads/"));
    expect(await findRepository(db(), "rita/new-one")).toBeUndefined();
    // The tag is still there, the blob never landed.
    const tags = await api("GET", `/repository/${REPO}/tag/?onlyActiveTags=true`, { token: rita });
    expect(tags.json.tags.map((t: { name: string }) => t.name)).toEqual(["v1"]);
    const head = await readOnly("HEAD", `/v2/${REPO}/blobs/${digestOf}`, { token });
    expect(head.status).toBe(404);
  });

  it("grants no push at /v2/auth, and pull as before (Quay)", async () => {
    const password = "rita-password-1";
    await api("PUT", "/user/", { token: rita, body: { password } });
    const res = await readOnly("GET", `/v2/auth?service=registry.test&scope=repository:${REPO}:pull,push,delete`, {
      headers: { Authorization: basic("rita", password) },
    });
    expect(res.status).toBe(200);
    const claims = JSON.parse(atob(res.json.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.access).toEqual([{ type: "repository", name: REPO, actions: ["pull"] }]);
  });
});

describe("REGISTRY_STATE=readonly on /api/v1", () => {
  it("serves reads", async () => {
    const repo = await readOnly("GET", `/api/v1/repository/${REPO}`, { token: rita });
    expect(repo.status).toBe(200);
    expect(repo.json.name).toBe("app");
  });

  it("refuses writes with Quay's read-only answer: tag delete, repository create, robot create, ...", async () => {
    const calls: [string, string, unknown?][] = [
      ["DELETE", `/api/v1/repository/${REPO}/tag/v1`],
      ["PUT", `/api/v1/repository/${REPO}/tag/v2`, { manifest_digest: digest }],
      ["POST", "/api/v1/repository", { repository: "made", visibility: "private", namespace: "rita", description: "" }],
      ["PUT", "/api/v1/user/robots/builder", {}],
      ["POST", "/api/v1/organization/", { name: "neworg", email: "neworg@example.com" }],
      ["DELETE", `/api/v1/repository/${REPO}`],
      ["POST", "/api/v1/user/initialize", { username: "x", password: "password-x-1", email: "x@example.com" }],
    ];
    for (const [method, path, body] of calls) {
      const res = await readOnly(method, path, {
        token: rita,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expectApiReadOnly(res);
    }
    // Nothing changed.
    const tags = await api("GET", `/repository/${REPO}/tag/?onlyActiveTags=true`, { token: rita });
    expect(tags.json.tags.map((t: { name: string }) => t.name)).toEqual(["v1"]);
    expect(await findRepository(db(), "rita/made")).toBeUndefined();
    expect((await api("GET", "/user/robots/builder", { token: rita })).status).toBe(400);
  });

  it("still signs in (Quay's @readonly_call_allowed), and validates configurations", async () => {
    await api("PUT", "/user/", { token: rita, body: { password: "rita-password-2" } });
    const res = await readOnly("POST", "/api/v1/signin", {
      body: JSON.stringify({ username: "rita", password: "rita-password-2" }),
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true });
    const checked = await readOnly("POST", "/api/v1/config/validate", { token: admin, body: "{}" });
    expect(checked).toMatchObject({ status: 200, json: [] });
  });
});

describe("REGISTRY_STATE=readonly and a proxy cache", () => {
  it("serves what the cache holds, fetching and storing nothing (a pull-through would write)", async () => {
    const upstream = new FakeUpstream();
    const uninstall = upstream.install();
    try {
      const created = await api("POST", "/organization/", {
        token: rita,
        body: { name: "hub", email: "hub@example.com" },
      });
      expect(created.status).toBe(201);
      const cache = await proxyApi("POST", "/organization/hub/proxycache", rita, {
        upstream_registry: "upstream.test",
      });
      expect(cache.status).toBe(201);
      await upstream.image("library/cached", "v1");
      await upstream.image("library/uncached", "v1");
      const token = await registryToken(
        [{ type: "repository", name: "hub/library/cached", actions: ["pull"] }],
        "rita",
      );
      const accept = { Accept: "application/vnd.oci.image.manifest.v1+json" };
      // Cached while writable, then served read-only from what is stored.
      expect((await proxyWorker("GET", "/v2/hub/library/cached/manifests/v1", { token, headers: accept })).status).toBe(
        200,
      );
      const fetched = upstream.calls.length;
      const readOnlyProxy = { ...proxyEnv(), REGISTRY_STATE: "readonly" } as unknown as Env;
      const served = await proxyWorker("GET", "/v2/hub/library/cached/manifests/v1", {
        token,
        headers: accept,
        env: readOnlyProxy,
      });
      expect(served.status).toBe(200);
      const other = await registryToken(
        [{ type: "repository", name: "hub/library/uncached", actions: ["pull"] }],
        "rita",
      );
      const missing = await proxyWorker("GET", "/v2/hub/library/uncached/manifests/v1", {
        token: other,
        headers: accept,
        env: readOnlyProxy,
      });
      expect(missing.status).toBe(404);
      expect(upstream.calls.length).toBe(fetched);
      expect(await findRepository(db(), "hub/library/uncached")).toBeUndefined();
    } finally {
      uninstall();
    }
  });
});

describe("REGISTRY_STATE=readonly elsewhere", () => {
  it("tells the UI (Quay's registry_state in /config)", async () => {
    expect((await readOnly("GET", "/config")).json.registry_state).toBe("readonly");
    expect((await api("GET", "/discovery")).status).toBe(200);
  });

  it("refuses webhooks, build files and connectors' calls with a 503", async () => {
    const hook = await readOnly("POST", "/webhooks/push/trigger/00000000-0000-0000-0000-000000000000", { body: "{}" });
    expect(hook).toMatchObject({ status: 503, json: { error: "System is currently in read-only mode" } });
    const drop = await readOnly("PUT", "/filedrop/some-file", { body: "FROM scratch" });
    expect(drop).toMatchObject({ status: 503, json: { error: READ_ONLY_MESSAGE, is_readonly: true } });
    const lease = await readOnly("POST", "/connector/v1/jobs/lease", { body: "{}" });
    expect(lease).toMatchObject({ status: 503, json: { error: "read_only", message: READ_ONLY_MESSAGE } });
    expect(lease.headers.get("Retry-After")).toBe("60");
  });

  it("refuses the reads that write: mailed links, attaching an external login, OAuth consent", async () => {
    for (const path of [
      "/confirm?code=x",
      "/recovery?code=x",
      "/authrepoemail?code=x",
      "/oauth2/sso/callback/attach",
    ]) {
      const res = await readOnly("GET", path);
      expect(res, path).toMatchObject({ status: 503, json: { error: READ_ONLY_MESSAGE, is_readonly: true } });
    }
    expectApiReadOnly(await readOnly("GET", "/oauth/authorize?client_id=x&redirect_uri=http://x/"));
    // Reads that do not write still answer.
    expect((await readOnly("GET", "/health/live")).status).toBe(200);
  });

  it("skips the Cron Trigger's writers (garbage collection, auto-prune, mirrors, log rotation)", async () => {
    const logged = vi.spyOn(console, "log");
    const failed = vi.spyOn(console, "error");
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), readOnlyEnv, ctx);
    await waitOnExecutionContext(ctx);
    const lines = logged.mock.calls.map((call) => String(call[0]));
    expect(lines).toContain(JSON.stringify({ msg: "scheduled run skipped: REGISTRY_STATE is readonly" }));
    expect(lines.filter((line) => /garbage|prune|mirror|retention/.test(line))).toEqual([]);
    expect(failed).not.toHaveBeenCalled();
  });
});
