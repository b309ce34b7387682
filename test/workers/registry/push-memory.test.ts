/**
 * What a manifest push remembers in its isolate (src/registry/push-memory.ts): when it last saw its
 * manifest's bytes written, and an image config's labels. A push of the same manifest under
 * another tag asks R2 nothing; once REWRITE_AFTER_MS has passed it checks the bytes again and
 * writes them anew, so bytes the garbage collector's sweep could have taken are back before the
 * commit; a config's labels (`quay.expires-after`) apply to every push of that config.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tags } from "../../../src/db/schema";
import { REWRITE_AFTER_MS } from "../../../src/registry/push-memory";
import { findRepository } from "../../../src/registry/repositories";
import { contentKey } from "../../../src/storage/keys";
import { db } from "../helpers/accounts";
import { advanceClock } from "../helpers/clock";
import { imageManifest, OCI_MANIFEST, pushManifest, request, sha256, uniqueName } from "../helpers/registry";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Records the R2 calls made from now on (Worker and Durable Objects share the binding). */
function recordR2(): string[] {
  const calls: string[] = [];
  for (const method of ["get", "head", "put", "delete"] as const) {
    const original = (env.BLOBS[method] as (...args: unknown[]) => unknown).bind(env.BLOBS);
    vi.spyOn(env.BLOBS, method).mockImplementation(((...args: unknown[]) => {
      calls.push(method);
      return original(...args);
    }) as never);
  }
  return calls;
}

async function manifestKey(manifest: string): Promise<string> {
  return contentKey((await sha256(manifest)) as `sha256:${string}`);
}

describe("a manifest's bytes", () => {
  it("pushed again under another tag: R2 is not asked while the bytes are younger than REWRITE_AFTER_MS", async () => {
    const name = uniqueName("memory");
    const manifest = await imageManifest(name);
    await pushManifest(name, "a", manifest, OCI_MANIFEST);
    const calls = recordR2();
    await pushManifest(name, "b", manifest, OCI_MANIFEST);
    expect(calls).toEqual([]);
  });

  it("older than REWRITE_AFTER_MS: checked (head) and written again", async () => {
    const name = uniqueName("memory");
    const manifest = await imageManifest(name);
    await pushManifest(name, "a", manifest, OCI_MANIFEST);
    advanceClock(REWRITE_AFTER_MS + 1_000);
    const calls = recordR2();
    await pushManifest(name, "b", manifest, OCI_MANIFEST);
    // The object's R2 time is the system's, behind the moved clock: written again.
    expect(calls.filter((call) => call === "head" || call === "put")).toEqual(["head", "put"]);
  });

  it("taken by a sweep past the grace period: the next push writes them back before it commits", async () => {
    const name = uniqueName("memory");
    const manifest = await imageManifest(name);
    await pushManifest(name, "a", manifest, OCI_MANIFEST);
    // The sweep deletes only objects older than its grace (15 minutes at least).
    advanceClock(16 * 60_000);
    await env.BLOBS.delete(await manifestKey(manifest));
    await pushManifest(name, "b", manifest, OCI_MANIFEST);
    expect(await env.BLOBS.head(await manifestKey(manifest))).not.toBeNull();
    const res = await request("GET", `/v2/${name}/manifests/b`, { headers: { Accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(manifest);
  });
});

describe("an image config's labels", () => {
  it("apply to every push of the config, read from R2 once", async () => {
    const name = uniqueName("memory");
    const manifest = await imageManifest(name, { "quay.expires-after": "2h" });
    const before = Date.now();
    await pushManifest(name, "a", manifest, OCI_MANIFEST);
    const calls = recordR2();
    await pushManifest(name, "b", manifest, OCI_MANIFEST);
    expect(calls).toEqual([]);
    const repository = (await findRepository(db(), name))!;
    for (const tag of ["a", "b"]) {
      const row = await db()
        .select()
        .from(tags)
        .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, tag)))
        .get();
      expect(row!.lifetimeEndMs).toBeGreaterThanOrEqual(before + 7_200_000);
      expect(row!.lifetimeEndMs).toBeLessThanOrEqual(Date.now() + 7_200_000);
    }
  });
});
