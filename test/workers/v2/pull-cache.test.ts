/**
 * Cached pull facts (src/registry/pull-cache.ts): a warm pull by digest costs no D1 query for a
 * pull-only token; a token with push (or delete) always asks D1 and keeps touching blobs; the
 * Cache API tier; and facts never answer for another repository. What stops a fact:
 * pull-cache-invalidation.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TOKEN_TTL_SECONDS } from "../../../src/identity/registry-tokens";
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
import { resetManifestBytes } from "../../../src/registry/manifests";
import { advanceClock } from "../helpers/clock";
import { isRead, observedEnv } from "../helpers/observed-env";
import { FACT_TTL, accept, call, image as imageIn, tokenFor } from "../helpers/pull-cache";
import { manifestDescriptor, OCI_INDEX, OCI_MANIFEST, pushImage, pushManifest, request } from "../helpers/registry";

const image = () => imageIn("tester");

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

  it("an index negotiated down to its linux/amd64 child: no D1 query once both are facts", async () => {
    const { name } = await image();
    const amd64 = await pushImage(name, "amd64");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        await manifestDescriptor(amd64.manifest, OCI_MANIFEST, { platform: { os: "linux", architecture: "amd64" } }),
      ],
    });
    const digest = await pushManifest(name, "multi", index, OCI_INDEX);
    const observed = observedEnv();
    const token = await tokenFor(name);
    const path = `/v2/${name}/manifests/${digest}`;
    const cold = await call(observed, "GET", path, token, accept);
    expect([cold.status, cold.d1.length]).toEqual([200, 2]);
    const warm = await call(observed, "GET", path, token, accept);
    expect([warm.status, warm.d1, warm.r2]).toEqual([200, [], []]);
    expect(new TextDecoder().decode(warm.body)).toBe(amd64.manifest);
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

  it("a fresh isolate serves a manifest GET by digest with neither D1 nor R2, and never bytes of another digest", async () => {
    const name = `tester/bytes-${crypto.randomUUID().slice(0, 6)}`;
    const pushed = await pushImage(name, "v1");
    const observed = observedEnv({ ...env, PULL_CACHE_EDGE: "true" } as unknown as Env);
    const token = await tokenFor(name);
    const path = `/v2/${name}/manifests/${pushed.digest}`;
    const cold = await call(observed, "GET", path, token, accept);
    expect([cold.d1.length, cold.r2]).toEqual([1, ["get"]]);
    // The writes go in waitUntil (the GET's own also waits on the pull count's batch): wait for them.
    const cache = await caches.open("wharf-pull-facts");
    const key = (kind: string) =>
      `https://pull-facts.wharf.invalid/v1/registry.test/${kind}/${kind === "bytes" ? "" : `${encodeURIComponent(name)}/`}${encodeURIComponent(pushed.digest)}`;
    for (let i = 0; i < 100 && !((await cache.match(key("bytes"))) && (await cache.match(key("manifest")))); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));

    const fresh = () => {
      resetPullCache();
      resetManifestBytes();
    };
    fresh();
    const warm = await call(observed, "GET", path, token, accept);
    expect([warm.status, warm.d1, warm.r2]).toEqual([200, [], []]);
    expect(new TextDecoder().decode(warm.body)).toBe(pushed.manifest);

    // Other bytes under the key are not served: R2 is read instead.
    await cache.put(key("bytes"), new Response("{}", { headers: { "Cache-Control": "max-age=60" } }));
    fresh();
    const checked = await call(observed, "GET", path, token, accept);
    expect([checked.status, checked.d1, checked.r2]).toEqual([200, [], ["get"]]);
    expect(new TextDecoder().decode(checked.body)).toBe(pushed.manifest);
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
        // Read from D1, not a fact: the replica's miss, then the primary's (src/middleware/db-session.ts).
        expect(blob.d1).toHaveLength(2);
      }
      // And a/x's token opens nothing of theirs.
      expect((await call(observed, "GET", `/v2/${other}/blobs/${x.layers[0]}`, ax)).status).toBe(401);
    }
  });
});
