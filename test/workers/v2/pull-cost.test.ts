/**
 * What one pull costs the platform, counted at the bindings: D1 statements and the D1 session
 * each opened on, R2 calls, Durable Object stubs (the metrics' included) and queue sends made by a
 * manifest or blob GET/HEAD, as the Worker serves it. ARCHITECTURE.md "The read path at the edge":
 * a pull by tag costs at most one D1 read, on a read replica when the token only pulls, and never
 * goes through a Durable Object; counting pulls (src/registry/pull-counts.ts) adds no D1 write and
 * the metrics leave batched per isolate (src/metrics/recorder.ts), not per request.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { basic, v2Token } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { BASE, OCI_MANIFEST, pushImage, registryToken, uniqueName } from "../helpers/registry";
import { isRead, observedEnv, type Observed } from "../helpers/observed-env";

const ADMIN_PASSWORD = "admin-password-1";

beforeAll(async () => {
  await initializeAdmin(ADMIN_PASSWORD);
});

/**
 * One request through the Worker with the observed bindings; the body is read to its end. The
 * token only pulls the path's repository unless one is given.
 */
// Metrics batched with the production span: the workerd tests run with 0 (vitest.workers.config.mts),
// which sends them after every response.
const production = { ...env, METRICS_FLUSH_SECONDS: "10" } as Env;

async function pull(
  observed: Observed,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  token?: string,
) {
  const name = path.split("/").slice(2, 4).join("/");
  token ??= await registryToken([{ type: "repository", name, actions: ["pull"] }], "tester");
  observed.reset();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...headers } }) as Parameters<
      typeof worker.fetch
    >[0],
    observed.env,
    createExecutionContext(),
  );
  await res.arrayBuffer();
  return {
    status: res.status,
    sessions: [...observed.sessions],
    d1: [...observed.d1],
    r2: [...observed.r2],
    durableObjects: [...observed.durableObjects],
    queueCalls: [...observed.queueCalls],
  };
}

describe("the cost of a pull", () => {
  it("a manifest GET by tag: one D1 read, one R2 get the first time and none after, no Durable Object", async () => {
    const name = uniqueName("cost");
    const image = await pushImage(name, "v1");
    const observed = observedEnv(production);
    const accept = { Accept: OCI_MANIFEST };

    const cold = await pull(observed, "GET", `/v2/${name}/manifests/v1`, accept);
    expect(cold.status).toBe(200);
    // A pull-only token without a bookmark: any replica.
    expect(cold.sessions).toEqual(["first-unconstrained"]);
    expect(cold.d1).toHaveLength(1);
    expect(cold.d1.every(isRead)).toBe(true);
    expect(cold.r2).toEqual(["get"]);
    expect(cold.durableObjects).toEqual([]);
    expect(cold.queueCalls).toEqual([]);

    const warm = await pull(observed, "GET", `/v2/${name}/manifests/v1`, accept);
    expect(warm.status).toBe(200);
    expect(warm.d1).toHaveLength(1);
    expect(warm.d1.every(isRead)).toBe(true);
    expect(warm.r2).toEqual([]);
    expect(warm.durableObjects).toEqual([]);

    // The tag's answer is kept as a fact by digest for this pull-only token (src/registry/pull-cache.ts).
    const byDigest = await pull(observed, "GET", `/v2/${name}/manifests/${image.digest}`, accept);
    expect(byDigest.status).toBe(200);
    expect(byDigest.d1).toHaveLength(0);
    expect(byDigest.r2).toEqual([]);

    const head = await pull(observed, "HEAD", `/v2/${name}/manifests/v1`, accept);
    expect(head.status).toBe(200);
    expect(head.d1).toHaveLength(1);
    expect(head.r2).toEqual([]);
    expect(head.durableObjects).toEqual([]);
  });

  it("a blob GET: one D1 read and one R2 get (then only the get, the link a cached fact); a HEAD: one D1 read and no R2 call", async () => {
    const name = uniqueName("cost");
    const image = await pushImage(name, "v1");
    const observed = observedEnv(production);
    const layer = image.layers[0]!;

    const whole = await pull(observed, "GET", `/v2/${name}/blobs/${layer}`);
    expect(whole.status).toBe(200);
    expect(whole.d1).toHaveLength(1);
    expect(whole.d1.every(isRead)).toBe(true);
    expect(whole.r2).toEqual(["get"]);
    expect(whole.durableObjects).toEqual([]);
    expect(whole.queueCalls).toEqual([]);

    // The link the whole GET read is a cached fact for this pull-only token (src/registry/pull-cache.ts).
    const ranged = await pull(observed, "GET", `/v2/${name}/blobs/${layer}`, { Range: "bytes=10-99" });
    expect(ranged.status).toBe(206);
    expect(ranged.d1).toHaveLength(0);
    expect(ranged.r2).toEqual(["get"]);

    // A blob not read yet (the config): one D1 read. Freshly pushed: its last use is recent, so the
    // HEAD needs no touch (src/registry/blobs.ts).
    const head = await pull(observed, "HEAD", `/v2/${name}/blobs/${image.config}`);
    expect(head.status).toBe(200);
    expect(head.d1).toHaveLength(1);
    expect(head.d1.every(isRead)).toBe(true);
    expect(head.r2).toEqual([]);
    expect(head.durableObjects).toEqual([]);
  });

  it("reads a replica for a pull-only token (at its bookmark), the primary for a pusher's", async () => {
    const name = `admin/${uniqueName("session")}`;
    await pushImage(name, "v1");
    const observed = observedEnv(production);
    const accept = { Accept: OCI_MANIFEST };
    const admin = basic("admin", ADMIN_PASSWORD);

    // /v2/auth reads the primary and signs where it stood into the token.
    const pullOnly = (await v2Token(admin, `repository:${name}:pull`)).token;
    const bookmark = decodeJwt(pullOnly).bm;
    expect(bookmark).toMatch(/^[0-9A-Za-z._:-]{1,128}$/);
    const byTag = await pull(observed, "GET", `/v2/${name}/manifests/v1`, accept, pullOnly);
    expect(byTag.status).toBe(200);
    expect(byTag.sessions).toEqual([bookmark]);
    expect(byTag.d1.length).toBeLessThanOrEqual(1);
    expect(byTag.d1.every(isRead)).toBe(true);
    expect(byTag.durableObjects).toEqual([]);

    // Whoever may push reads what it just pushed: the primary, for its GETs and HEADs too.
    const pusher = (await v2Token(admin, `repository:${name}:pull,push`)).token;
    expect(decodeJwt(pusher).access).toEqual([{ type: "repository", name, actions: ["pull", "push"] }]);
    const head = await pull(observed, "HEAD", `/v2/${name}/manifests/v1`, accept, pusher);
    expect(head.status).toBe(200);
    expect(head.sessions).toEqual(["first-primary"]);
    const deleter = await registryToken([{ type: "repository", name, actions: ["pull", "delete"] }], "admin");
    expect((await pull(observed, "GET", `/v2/${name}/manifests/v1`, accept, deleter)).sessions).toEqual([
      "first-primary",
    ]);
    // A token for another repository: this one is not its to read, and refused, from the primary.
    const other = await registryToken([{ type: "repository", name: `${name}-other`, actions: ["pull"] }], "admin");
    const refused = await pull(observed, "GET", `/v2/${name}/manifests/v1`, accept, other);
    expect(refused.status).toBe(401);
    expect(refused.sessions).toEqual(["first-primary"]);
  });

  it("makes no metrics Durable Object call on the request path of any pull, however many", async () => {
    const name = uniqueName("cost");
    const image = await pushImage(name, "v1");
    const observed = observedEnv(production);
    for (let i = 0; i < 20; i++) {
      const manifest = await pull(observed, "GET", `/v2/${name}/manifests/v1`, { Accept: OCI_MANIFEST });
      const blob = await pull(observed, "GET", `/v2/${name}/blobs/${image.layers[0]}`);
      expect([manifest.status, blob.status]).toEqual([200, 200]);
      expect([...manifest.durableObjects, ...blob.durableObjects]).toEqual([]);
    }
  });
});
