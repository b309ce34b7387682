/**
 * Conflicting member names in JSON (src/lib/json-keys.ts), the check behind refusing ambiguous
 * manifests (issue #12): exact duplicates anywhere, names that differ only by case outside maps,
 * escapes decoded. The cost is structural (one pass, no recursion); the large inputs below are
 * shapes a quadratic or recursive scan could not finish, not timings.
 */
import { describe, expect, it } from "vitest";
import { conflictingKey } from "../../src/lib/json-keys";

describe("conflictingKey", () => {
  it("finds a duplicate name at any depth, and only within one object", () => {
    expect(conflictingKey('{"a":1,"a":2}')).toEqual({ key: "a", with: "a" });
    expect(conflictingKey('{"x":[{"b":{"c":1,"d":2,"c":3}}]}')).toEqual({ key: "c", with: "c" });
    expect(conflictingKey('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toBeNull();
    expect(conflictingKey('{"a":"a","b":["a","a"],"c":{"a":"a"}}')).toBeNull();
  });

  it("reads names as parsers do: escapes decoded, quotes and backslashes inside strings skipped", () => {
    expect(conflictingKey('{"layers":[],"l\\u0061yers":[]}')).toEqual({ key: "layers", with: "layers" });
    expect(conflictingKey('{"a\\"b":1,"a\\\\":2,"x":"\\\\","a\\"b":3}')).toEqual({ key: 'a"b', with: 'a"b' });
    expect(conflictingKey('{"v":"{\\"a\\":1,\\"a\\":2}","w":"]}"}')).toBeNull();
  });

  it("finds names that differ only by case, as Go's encoding/json matches struct fields", () => {
    expect(conflictingKey('{"layers":[],"LAYERS":[]}')).toEqual({ key: "LAYERS", with: "layers" });
    expect(conflictingKey('{"config":{"digest":"x","Digest":"y"}}')).toEqual({ key: "Digest", with: "digest" });
    // Go folds U+017F (long s) to "s" and U+212A (Kelvin sign) to "k".
    expect(conflictingKey('{"size":1,"\u017fize":2}')).toEqual({ key: "\u017fize", with: "size" });
    expect(conflictingKey('{"kind":1,"\u212aind":2}')).toEqual({ key: "\u212aind", with: "kind" });
  });

  it("keeps case-distinct keys of maps such as annotations", () => {
    expect(conflictingKey('{"annotations":{"org.Example":"1","org.example":"2"}}')).toBeNull();
    expect(conflictingKey('{"layers":[{"annotations":{"A":"1","a":"2"}}]}')).toBeNull();
    expect(conflictingKey('{"annotations":{"a":"1","a":"2"}}')).toEqual({ key: "a", with: "a" });
    // A struct nested in a map value position is still a struct.
    expect(conflictingKey('{"annotations":{"a":"1"},"platform":{"os":"linux","OS":"plan9"}}')).toEqual({
      key: "OS",
      with: "os",
    });
  });

  it("passes valid manifests", () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 2 },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"b".repeat(64)}`, size: 3 },
      ],
      annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
    };
    expect(conflictingKey(JSON.stringify(manifest))).toBeNull();
    expect(conflictingKey(JSON.stringify(manifest, null, 2))).toBeNull();
  });

  it("handles 4 MiB worst cases in one pass: 200,000 names, deep nesting, long escape runs", () => {
    const names = Array.from({ length: 200_000 }, (_, i) => `"k${i}":0`);
    const wide = `{${names.join(",")}}`;
    expect(conflictingKey(wide)).toBeNull();
    expect(conflictingKey(`${wide.slice(0, -1)},"k199999":1}`)).toEqual({ key: "k199999", with: "k199999" });

    const depth = 500_000;
    const deep = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    expect(conflictingKey(deep)).toBeNull();

    const escapes = `{"s":"${'\\\\\\"'.repeat(500_000)}","s":1}`;
    expect(JSON.parse(escapes)).toEqual({ s: 1 });
    expect(conflictingKey(escapes)).toEqual({ key: "s", with: "s" });
  });
});
