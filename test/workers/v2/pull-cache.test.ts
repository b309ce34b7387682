/**
 * Cached pull facts (src/registry/pull-cache.ts): a warm pull by digest costs no D1 query for a
 * pull-only token; a token with push (or delete) always asks D1 and keeps touching blobs; and each
 * cause that must stop a fact being served (revoked grant, made private, deleted repository,
 * deleted manifest, collected blob) stops it at once in the isolate that made the change and
 * within FACT_TTL elsewhere (simulated here by changing D1 behind the Worker's back).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { database } from "../../../src/db/client";
import { blobs, manifests, repositories } from "../../../src/db/schema";
import { collectBlobs } from "../../../src/gc/blobs";
import { graceMs } from "../../../src/gc/grace";
import { BLOB_TOUCH_INTERVAL_MS } from "../../../src/registry/blobs";
import {
  factTtlMs,
  forgetDigests,
  forgetLink,
  forgetNamespace,
  forgetRepository,
  pullFacts,
  resetPullCache,
} from "../../../src/registry/pull-cache";
import type { Digest } from "../../../src/registry/reference";
import { TOKEN_TTL_SECONDS } from "../../../src/identity/registry-tokens";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { api, initializeAdmin } from "../helpers/api";
import { basic } from "../helpers/accounts";
import { advanceClock } from "../helpers/clock";
import { isRead, observedEnv, type Observed } from "../helpers/observed-env";
import { OCI_MANIFEST, pushBlob, pushImage, randomBytes, registryToken, request } from "../helpers/registry";

const db = () => database(env.DB);
const FACT_TTL = factTtlMs(env);
const accept = { Accept: OCI_MANIFEST };

/** A registry token granting `actions` on `name`. */
const tokenFor = (name: string, actions: string[] = ["pull"]) =>
  registryToken([{ type: "repository", name, actions }], "tester");

/**
 * The D1 statements a request made for itself: fair use's overrides table is re-read in
 * `waitUntil` once per OVERRIDES_TTL_MS per isolate (src/fairuse/overrides.ts), whichever request
 * happens to come then; the tests move the clock past that, so that read is left out.
 */
const ownQueries = (d1: string[]) => d1.filter((q) => !q.includes('"fair_use_overrides"'));

/**
 * One request through the Worker with observed bindings; the body read to its end. `settle` waits
 * for its `waitUntil` work (the Cache API writes), which for a manifest GET includes the pull
 * count's batching (up to 10 s, src/registry/pull-counts.ts).
 */
async function call(observed: Observed, method: string, path: string, token: string, headers = {}, settle = false) {
  observed.reset();
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://registry.test${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...headers },
    }) as Parameters<typeof worker.fetch>[0],
    observed.env,
    ctx,
  );
  const body = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(body);
  if (settle) await waitOnExecutionContext(ctx);
  const code = res.status >= 400 && text ? (JSON.parse(text).errors?.[0]?.code ?? null) : null;
  return { status: res.status, code, body, d1: ownQueries(observed.d1), r2: [...observed.r2] };
}

/** A token from GET /v2/auth, as a client gets one: Basic credentials or anonymous. */
async function authToken(scope: string, authorization?: string): Promise<string> {
  const res = await request("GET", `/v2/auth?service=registry.test&scope=${scope}`, {
    token: null,
    headers: authorization ? { Authorization: authorization } : {},
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

let admin: string;
let serial = 0;
/** A fresh repository in admin's namespace with one image: its manifest digest and layer. */
async function image(prefix = "pc") {
  const name = `admin/${prefix}-${++serial}-${crypto.randomUUID().slice(0, 6)}`;
  const pushed = await pushImage(name, "v1");
  return { name, manifest: pushed.digest, layer: pushed.layers[0]!, config: pushed.config };
}

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("a warm pull by digest", () => {
  it("costs no D1 query for a pull-only token: manifest GET/HEAD, blob HEAD/GET", async () => {
    const { name, manifest, layer } = await image();
    const observed = observedEnv();
    const token = await tokenFor(name);

    const cold = await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, token, accept);
    expect(cold.status).toBe(200);
    expect(cold.d1).toHaveLength(1);
    const coldBlob = await call(observed, "GET", `/v2/${name}/blobs/${layer}`, token);
    expect(coldBlob.status).toBe(200);
    expect(coldBlob.d1).toHaveLength(1);

    for (const method of ["GET", "HEAD"]) {
      const warm = await call(observed, method, `/v2/${name}/manifests/${manifest}`, token, accept);
      expect(warm.status).toBe(200);
      expect(warm.d1).toEqual([]);
      expect(warm.r2).toEqual([]);
    }
    const head = await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token);
    expect(head.status).toBe(200);
    expect(head.d1).toEqual([]);
    expect(head.r2).toEqual([]);
    const get = await call(observed, "GET", `/v2/${name}/blobs/${layer}`, token);
    expect(get.status).toBe(200);
    expect(get.d1).toEqual([]);
    expect(get.r2).toEqual(["get"]);

    // Still a fact just before FACT_TTL; asked again at it.
    advanceClock(FACT_TTL - 1_000);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token)).d1).toEqual([]);
    advanceClock(1_000);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token)).d1).toHaveLength(1);
  });

  it("a tag is always asked of D1, and its answer serves the pull by digest that follows", async () => {
    const { name, manifest } = await image();
    const observed = observedEnv();
    const token = await tokenFor(name);
    for (let i = 0; i < 2; i++)
      expect((await call(observed, "GET", `/v2/${name}/manifests/v1`, token, accept)).d1).toHaveLength(1);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, token, accept)).d1).toEqual([]);
  });

  it("a token with push or delete asks D1 every time, and a pusher's HEAD touches a blob it relies on", async () => {
    const { name, layer } = await image();
    const observed = observedEnv();
    // The layer's last use is now older than the touch interval: a HEAD for a push must record one.
    advanceClock(BLOB_TOUCH_INTERVAL_MS + 1_000);
    const pullOnly = await tokenFor(name);
    // A GET never touches: this only makes the fact warm.
    expect((await call(observed, "GET", `/v2/${name}/blobs/${layer}`, pullOnly)).d1).toHaveLength(1);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, pullOnly)).d1).toEqual([]);

    const pusher = await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, await tokenFor(name, ["pull", "push"]));
    expect(pusher.status).toBe(200);
    expect(pusher.d1.filter(isRead)).toHaveLength(1);
    expect(pusher.d1.filter((q) => /^\s*update\s+"blobs"/i.test(q))).toHaveLength(1);
    const deleter = await call(observed, "GET", `/v2/${name}/blobs/${layer}`, await tokenFor(name, ["pull", "delete"]));
    expect(deleter.status).toBe(200);
    expect(deleter.d1).toHaveLength(1);
    const star = await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, await tokenFor(name, ["*"]));
    expect(star.d1.length).toBeGreaterThan(0);
  });
});

describe("the edge tier (PULL_CACHE_EDGE=true, the Cache API)", () => {
  it("another isolate of the data centre reads the fact without D1, until FACT_TTL or a forget", async () => {
    const { name, manifest, layer } = await image();
    const observed = observedEnv({ ...env, PULL_CACHE_EDGE: "true" } as unknown as Env);
    const token = await tokenFor(name);
    expect((await call(observed, "GET", `/v2/${name}/blobs/${layer}`, token, {}, true)).d1).toHaveLength(1);
    expect((await call(observed, "HEAD", `/v2/${name}/manifests/${manifest}`, token, accept, true)).d1).toHaveLength(1);

    resetPullCache(); // a fresh isolate
    const head = await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token);
    expect([head.status, head.d1]).toEqual([200, []]);
    expect((await call(observed, "HEAD", `/v2/${name}/manifests/${manifest}`, token, accept)).d1).toEqual([]);

    // A DELETE here removes the key from the data centre's cache too.
    expect((await request("DELETE", `/v2/${name}/manifests/${manifest}`)).status).toBe(202);
    resetPullCache();
    // (The forget records went with the isolate: only the deleted key makes this a miss.)
    const gone = await call(observed, "HEAD", `/v2/${name}/manifests/${manifest}`, token, accept);
    expect(gone.status).toBe(404);
    expect(gone.d1.length).toBeGreaterThan(0);

    // The Cache API keeps time by the wall clock; the fact's own read time bounds it by the Worker's.
    resetPullCache();
    advanceClock(FACT_TTL);
    const stale = await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, token);
    expect([stale.status, stale.d1.length]).toEqual([200, 1]);
  });
});

describe("the module", () => {
  const ctx = { waitUntil: () => {}, deployment: "registry.test" };
  const fact = { digest: `sha256:${"a".repeat(64)}` as Digest, size: 3, storageKey: "k" };

  it("FACT_TTL is PULL_CACHE_TTL_SECONDS, at most the registry token's lifetime; 0 is off", () => {
    expect(FACT_TTL).toBe(60_000);
    const withTtl = (seconds: string) => ({ ...env, PULL_CACHE_TTL_SECONDS: seconds }) as unknown as Env;
    expect(factTtlMs(withTtl("1000"))).toBe(TOKEN_TTL_SECONDS * 1000);
    expect(pullFacts(withTtl("0"), ctx)).toBeNull();
  });

  it("a read that began before a forget of its scope is not kept", async () => {
    const facts = pullFacts(env, ctx)!;
    for (const forget of [
      () => forgetRepository("racy/one"),
      () => forgetNamespace("racy"),
      () => forgetDigests([fact.digest]),
      () => forgetLink("racy/one", fact.digest),
    ]) {
      const read = facts.mark();
      await forget();
      facts.putLink("racy/one", fact, read);
      expect(await facts.link("racy/one", fact.digest)).toBeUndefined();
    }
    // Begun after the forget, it is kept; and only under its own name.
    facts.putLink("racy/one", fact, facts.mark());
    expect(await facts.link("racy/one", fact.digest)).toEqual(fact);
    expect(await facts.link("racy/two", fact.digest)).toBeUndefined();
    expect(await facts.link("other/one", fact.digest)).toBeUndefined();
  });
});

describe("facts never cross repositories", () => {
  it("what a/x links or holds answers nothing for a/y or b/x", async () => {
    const a = `ns${crypto.randomUUID().slice(0, 6)}`;
    const b = `ns${crypto.randomUUID().slice(0, 6)}`;
    const x = await pushImage(`${a}/x`, "v1");
    await pushImage(`${a}/y`, "v1");
    await pushImage(`${b}/x`, "v1");
    const observed = observedEnv();
    const ax = await tokenFor(`${a}/x`);
    expect((await call(observed, "GET", `/v2/${a}/x/manifests/${x.digest}`, ax, accept)).status).toBe(200);
    expect((await call(observed, "GET", `/v2/${a}/x/blobs/${x.layers[0]}`, ax)).status).toBe(200);

    for (const other of [`${a}/y`, `${b}/x`]) {
      const token = await tokenFor(other);
      const m = await call(observed, "GET", `/v2/${other}/manifests/${x.digest}`, token, accept);
      expect([m.status, m.code]).toEqual([404, "MANIFEST_UNKNOWN"]);
      expect(m.d1.length).toBeGreaterThan(0);
      for (const method of ["HEAD", "GET"]) {
        const blob = await call(observed, method, `/v2/${other}/blobs/${x.layers[0]}`, token);
        expect(blob.status).toBe(404);
        expect(blob.d1).toHaveLength(1);
      }
      // And a/x's token opens nothing of theirs.
      expect((await call(observed, "GET", `/v2/${other}/blobs/${x.layers[0]}`, ax)).status).toBe(401);
    }
  });
});

describe("what stops a cached fact", () => {
  it("a revoked grant: a token minted after it has no pull, warm facts or not", async () => {
    const { name, manifest } = await image();
    const rita = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: `rita${serial}`, email: `r${serial}@example.com` },
    });
    const user = `rita${serial}`;
    const creds = basic(user, rita.json.password);
    expect(
      (await api("PUT", `/repository/${name}/permissions/user/${user}`, { token: admin, body: { role: "read" } }))
        .status,
    ).toBe(200);
    const observed = observedEnv();
    const before = await authToken(`repository:${name}:pull`, creds);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, before, accept)).status).toBe(200);

    expect((await api("DELETE", `/repository/${name}/permissions/user/${user}`, { token: admin })).status).toBe(204);
    const after = await authToken(`repository:${name}:pull`, creds);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, after, accept)).status).toBe(401);
    // The token minted before lives its 300 s as it always did (pulls trust its claim); then it is refused.
    advanceClock(306_000);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, before, accept)).status).toBe(401);
  });

  it("a repository made private: an anonymous token minted after it has no pull", async () => {
    const { name, manifest, layer } = await image();
    expect(
      (await api("POST", `/repository/${name}/changevisibility`, { token: admin, body: { visibility: "public" } }))
        .status,
    ).toBe(200);
    const observed = observedEnv();
    const anonymous = await authToken(`repository:${name}:pull`);
    expect((await call(observed, "GET", `/v2/${name}/manifests/${manifest}`, anonymous, accept)).status).toBe(200);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, anonymous)).status).toBe(200);

    expect(
      (await api("POST", `/repository/${name}/changevisibility`, { token: admin, body: { visibility: "private" } }))
        .status,
    ).toBe(200);
    const after = await authToken(`repository:${name}:pull`);
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, after)).status).toBe(401);
    // This isolate forgot the repository's facts: the old token's next pull asks D1 again.
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${layer}`, anonymous)).d1).toHaveLength(1);
  });

  it("a deleted repository: at once in this isolate, within FACT_TTL elsewhere", async () => {
    const here = await image();
    const observed = observedEnv();
    const token = await tokenFor(here.name);
    expect((await call(observed, "GET", `/v2/${here.name}/manifests/${here.manifest}`, token, accept)).status).toBe(
      200,
    );
    expect((await call(observed, "HEAD", `/v2/${here.name}/blobs/${here.layer}`, token)).status).toBe(200);
    expect((await api("DELETE", `/repository/${here.name}`, { token: admin })).status).toBe(204);
    expect((await call(observed, "GET", `/v2/${here.name}/manifests/${here.manifest}`, token, accept)).status).toBe(
      404,
    );
    expect((await call(observed, "HEAD", `/v2/${here.name}/blobs/${here.layer}`, token)).status).toBe(404);

    // Deleted by another isolate: the row is renamed to its tombstone behind this one's back.
    const there = await image();
    const other = await tokenFor(there.name);
    expect((await call(observed, "GET", `/v2/${there.name}/manifests/${there.manifest}`, other, accept)).status).toBe(
      200,
    );
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(200);
    await db()
      .update(repositories)
      .set({ name: sql`'~deleted/' || ${repositories.id}`, namespace: "~deleted" })
      .where(eq(repositories.name, there.name));
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(200);
    advanceClock(FACT_TTL);
    expect((await call(observed, "HEAD", `/v2/${there.name}/blobs/${there.layer}`, other)).status).toBe(404);
    expect((await call(observed, "GET", `/v2/${there.name}/manifests/${there.manifest}`, other, accept)).status).toBe(
      404,
    );
  });

  it("a deleted manifest or blob link: at once in this isolate, within FACT_TTL elsewhere", async () => {
    const here = await image();
    const observed = observedEnv();
    const token = await tokenFor(here.name);
    const path = `/v2/${here.name}/manifests/${here.manifest}`;
    expect((await call(observed, "HEAD", path, token, accept)).status).toBe(200);
    expect((await request("DELETE", path)).status).toBe(202);
    const gone = await call(observed, "HEAD", path, token, accept);
    expect([gone.status, gone.d1.length > 0]).toEqual([404, true]);
    // So does a blob link deleted here (allowed once no live manifest needs the blob).
    const blobPath = `/v2/${here.name}/blobs/${here.layer}`;
    expect((await call(observed, "HEAD", blobPath, token)).status).toBe(200);
    expect((await call(observed, "HEAD", blobPath, token)).d1).toEqual([]);
    expect((await request("DELETE", blobPath)).status).toBe(202);
    const unlinked = await call(observed, "HEAD", blobPath, token);
    expect([unlinked.status, unlinked.d1.length]).toEqual([404, 1]);

    const there = await image();
    const other = await tokenFor(there.name);
    const otherPath = `/v2/${there.name}/manifests/${there.manifest}`;
    expect((await call(observed, "GET", otherPath, other, accept)).status).toBe(200);
    await db().update(manifests).set({ deletedAt: Date.now() }).where(eq(manifests.digest, there.manifest));
    expect((await call(observed, "GET", otherPath, other, accept)).status).toBe(200);
    advanceClock(FACT_TTL);
    const later = await call(observed, "GET", otherPath, other, accept);
    expect([later.status, later.code]).toEqual([404, "MANIFEST_UNKNOWN"]);
  });

  it("a collected blob: at once where GC ran; elsewhere a GET finds no bytes, drops the fact and answers BLOB_UNKNOWN", async () => {
    const grace = graceMs(env);
    const name = `admin/gc-${crypto.randomUUID().slice(0, 6)}`;
    const here = await pushBlob(name, randomBytes(3000));
    const there = await pushBlob(name, randomBytes(3000));
    // Unreferenced and last used two grace periods ago: collectable.
    await db()
      .update(blobs)
      .set({ createdAt: Date.now() - 2 * grace, lastUsedAt: 0 })
      .where(sql`${blobs.digest} in (${here}, ${there})`);
    const observed = observedEnv();
    const token = await tokenFor(name);
    for (const digest of [here, there]) {
      expect((await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token)).status).toBe(200);
      expect((await call(observed, "HEAD", `/v2/${name}/blobs/${digest}`, token)).d1).toEqual([]);
    }

    // "there" goes behind this isolate's back (another isolate's GC): its row, link and bytes.
    const row = await db().select().from(blobs).where(eq(blobs.digest, there)).get();
    await db().run(sql`delete from repository_blobs where digest = ${there}`);
    await db().delete(blobs).where(eq(blobs.digest, there));
    await env.BLOBS.delete(row!.storageKey);
    // The fact still answers a HEAD (documented: at most FACT_TTL); the GET finds no bytes.
    expect((await call(observed, "HEAD", `/v2/${name}/blobs/${there}`, token)).status).toBe(200);
    const get = await call(observed, "GET", `/v2/${name}/blobs/${there}`, token);
    expect([get.status, get.code]).toEqual([404, "BLOB_UNKNOWN"]);
    expect(get.d1).toHaveLength(1);
    const head = await call(observed, "HEAD", `/v2/${name}/blobs/${there}`, token);
    expect([head.status, head.d1.length]).toEqual([404, 1]);

    // "here" goes through this isolate's GC pass: forgotten at once.
    for (;;) if ((await collectBlobs(db(), new R2BlobStore(env.BLOBS), Date.now(), grace)).wrapped) break;
    const collected = await call(observed, "HEAD", `/v2/${name}/blobs/${here}`, token);
    expect([collected.status, collected.d1.length]).toEqual([404, 1]);
  });

  it("a fact whose bytes moved (collected, then pushed again under a new key) serves the new bytes", async () => {
    const name = `admin/moved-${crypto.randomUUID().slice(0, 6)}`;
    const bytes = randomBytes(2048);
    const digest = await pushBlob(name, bytes);
    const observed = observedEnv();
    const token = await tokenFor(name);
    expect((await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token)).status).toBe(200);
    const row = await db().select().from(blobs).where(eq(blobs.digest, digest)).get();
    const moved = `${row!.storageKey}-moved`;
    await env.BLOBS.put(moved, bytes);
    await env.BLOBS.delete(row!.storageKey);
    await db().update(blobs).set({ storageKey: moved }).where(eq(blobs.digest, digest));
    const get = await call(observed, "GET", `/v2/${name}/blobs/${digest}`, token);
    expect(get.status).toBe(200);
    expect(get.d1).toHaveLength(1);
    expect(get.body).toEqual(bytes);
  });
});
