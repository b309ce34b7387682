/**
 * D1's bound-parameter limit (src/db/chunks.ts): the helper's arithmetic, and the statements cut
 * with it run on the local D1, which refuses a statement binding a 101st parameter, with full
 * chunks binding exactly 100 where they bind nothing else.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chunksForStatement, D1_MAX_BOUND_PARAMETERS, valuesPerStatement } from "../../src/db/chunks";
import { database } from "../../src/db/client";
import { referencedKeys } from "../../src/gc/r2-sweep";
import { linkedDigests, touchAndFindLinked, touchBlobs } from "../../src/registry/blobs";
import { pushedLabelStatements } from "../../src/registry/labels";
import { commitManifestStatements, requireManifests } from "../../src/registry/manifests";
import type { Digest } from "../../src/registry/reference";

const digests = (count: number, seed: string): Digest[] =>
  Array.from({ length: count }, (_, i) => `sha256:${`${seed}${i}`.padStart(64, "0")}` as Digest);

/** A drizzle client over env.DB that records how many parameters each statement binds. */
function recordingDb() {
  const bound: number[] = [];
  const d1 = new Proxy(env.DB, {
    get(target, property) {
      if (property !== "prepare") {
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (query: string) => {
        const statement = target.prepare(query);
        return new Proxy(statement, {
          get(inner, name) {
            const value = Reflect.get(inner, name);
            if (name === "bind")
              return (...params: unknown[]) => {
                bound.push(params.length);
                return inner.bind(...params);
              };
            return typeof value === "function" ? value.bind(inner) : value;
          },
        });
      };
    },
  });
  return { db: database(d1), bound };
}

describe("chunksForStatement", () => {
  it("fits as many values as the parameters left allow, in order, the last chunk holding the rest", () => {
    expect(D1_MAX_BOUND_PARAMETERS).toBe(100);
    expect(valuesPerStatement({ perValue: 1 })).toBe(100);
    expect(valuesPerStatement({ perValue: 1, fixed: 2 })).toBe(98);
    expect(valuesPerStatement({ perValue: 7 })).toBe(14);
    expect(valuesPerStatement({ perValue: 4, fixed: 1 })).toBe(24);
    const values = Array.from({ length: 250 }, (_, i) => i);
    const chunks = chunksForStatement(values, { perValue: 1, fixed: 1 });
    expect(chunks.map((c) => c.length)).toEqual([99, 99, 52]);
    expect(chunks.flat()).toEqual(values);
    expect(chunksForStatement([], { perValue: 3 })).toEqual([]);
  });

  it("refuses a statement no value fits", () => {
    expect(() => valuesPerStatement({ perValue: 101 })).toThrow(RangeError);
    expect(() => valuesPerStatement({ perValue: 1, fixed: 100 })).toThrow(RangeError);
    expect(() => valuesPerStatement({ perValue: 0 })).toThrow(RangeError);
  });
});

describe("the statements cut by it", () => {
  it("touch, look up linked blobs and required manifests in full chunks D1 accepts", async () => {
    const { db, bound } = recordingDb();
    await touchBlobs(db, digests(250, "a"));
    expect(bound).toEqual([100, 100, 56]);

    bound.length = 0;
    expect(await linkedDigests(db, 1, digests(250, "b"))).toEqual(new Set());
    expect(bound).toEqual([100, 100, 53]);

    bound.length = 0;
    // Every chunk is asked at once (one round trip's wait), then the first digest missing refused.
    await expect(requireManifests(db, 1, digests(250, "c"))).rejects.toMatchObject({
      kind: "not_found",
      subject: "manifest_reference",
      detail: { digest: digests(250, "c")[0] },
    });
    expect(bound).toEqual([100, 100, 53]);

    // A push's touch and links read: each chunk's pair in one batch, cut by the touch's parameters.
    bound.length = 0;
    expect(await touchAndFindLinked(db, 1, digests(250, "g"))).toEqual(new Set());
    expect(bound).toEqual([100, 99, 100, 99, 56, 55]);
  });

  it("looks up which R2 keys rows use in full chunks D1 accepts", async () => {
    const { db, bound } = recordingDb();
    const content = digests(150, "d").map((d) => `blobs/sha256/${d.slice("sha256:".length)}`);
    const uploads = Array.from({ length: 120 }, (_, i) => `uploads/${i}`);
    expect(await referencedKeys([db], [...content, ...uploads])).toEqual(new Set());
    // Blobs and manifests by digest per content chunk, then blobs by storage key.
    expect(bound).toEqual([100, 100, 50, 50, 100, 20]);
  });

  it("inserts a manifest's references and labels in statements of at most 100 parameters", () => {
    const db = database(env.DB);
    const blobs = digests(120, "e");
    const statements = commitManifestStatements(db, {
      repositoryId: 1,
      repositoryName: "chunks/app",
      digest: digests(1, "f")[0]!,
      size: 1,
      parsed: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: null,
        configMediaType: null,
        configDigest: null,
        subject: null,
        annotations: null,
        blobs,
        manifests: [],
      },
      tag: null,
      expiresAtMs: null,
      origin: { actor: { kind: "anonymous" }, ip: null },
      labels: [],
      firstPush: false,
    }).flatMap((statement) => ("toSQL" in statement ? [statement.toSQL()] : []));
    // Raw statements (a scan's queueing, off here) have no toSQL; the builders are what is counted.
    const references = statements.filter((s) => s.sql.startsWith('insert into "manifest_references"'));
    expect(references.map((s) => s.params.length)).toEqual([100, 100, 100, 100, 80]);

    const labels = Array.from({ length: 30 }, (_, i) => ({
      id: crypto.randomUUID(),
      key: `k${i}`,
      value: "v",
      mediaType: "text/plain" as const,
    }));
    const inserts = pushedLabelStatements(db, 1, "sha256:x", labels).map((s) => s.toSQL().params.length);
    expect(inserts).toEqual([98, 98, 14]);
  });
});
