import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pushBlob, request, sha256 } from "../helpers/registry";

interface TagRow {
  manifest_digest: string;
  lifetime_start_ms: number;
  lifetime_end_ms: number | null;
}

describe("PUT /v2/:name/manifests/:tag under concurrency", () => {
  it("serializes 20 concurrent pushes to one tag: 20 rows, disjoint lifetimes, one alive", async () => {
    const name = `race/${crypto.randomUUID().slice(0, 8)}`;
    const config = await pushBlob(name, "{}");
    const manifests = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const layer = await pushBlob(name, `layer ${i}`);
        return JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer, size: `layer ${i}`.length }],
        });
      }),
    );

    const responses = await Promise.all(
      manifests.map((body) =>
        request("PUT", `/v2/${name}/manifests/latest`, {
          body,
          headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));

    const { results } = await env.DB.prepare(
      `SELECT m.digest AS manifest_digest, t.lifetime_start_ms, t.lifetime_end_ms
         FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.id = t.manifest_id
        WHERE r.name = ? AND t.name = 'latest' ORDER BY t.lifetime_start_ms`,
    )
      .bind(name)
      .all<TagRow>();

    expect(results).toHaveLength(20);
    expect(new Set(results.map((r) => r.manifest_digest)).size).toBe(20);
    const expected = await Promise.all(manifests.map((m) => sha256(m)));
    expect(new Set(results.map((r) => r.manifest_digest))).toEqual(new Set(expected));
    for (let i = 0; i < results.length - 1; i++) {
      const row = results[i]!;
      const next = results[i + 1]!;
      expect(row.lifetime_end_ms).not.toBeNull();
      expect(row.lifetime_start_ms).toBeLessThan(row.lifetime_end_ms!);
      expect(row.lifetime_end_ms!).toBeLessThanOrEqual(next.lifetime_start_ms);
    }
    const alive = results.filter((r) => r.lifetime_end_ms === null);
    expect(alive).toHaveLength(1);
    expect(alive[0]).toBe(results[19]);

    const pulled = await request("GET", `/v2/${name}/manifests/latest`);
    expect(pulled.headers.get("Docker-Content-Digest")).toBe(results[19]!.manifest_digest);
  });
});
