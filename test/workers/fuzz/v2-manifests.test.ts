/**
 * Fuzzing manifest and index PUTs: valid-ish JSON with hostile fields (huge and negative numbers,
 * wrong media types, deep nesting, unicode, duplicate keys, wrong digests and sizes) under any
 * Content-Type. The answer is a 201 or an OCI error with a 4xx; a manifest accepted reads back as
 * the very bytes sent; and D1 stays consistent (tags on existing manifests, every blob linked).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DOCKER_CONFIG,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  type PushedImage,
  pushBlob,
  pushImage,
  registryToken,
  sha256,
} from "../helpers/registry";
import { brokenInvariants } from "./consistency";
import { fuzzRequest, runs, timeFor } from "./fuzz";
import { digestLike } from "./inputs";

const REPO = "fuzz/manifests";
const CONFIG = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
const LAYER = "fuzz layer";
let configDigest: string;
let layerDigest: string;
let child: PushedImage;
let token: string;

beforeAll(async () => {
  configDigest = await pushBlob(REPO, CONFIG);
  layerDigest = await pushBlob(REPO, LAYER);
  child = await pushImage(REPO, "child");
  token = await registryToken(
    [{ type: "repository", name: REPO, actions: ["pull", "push", "delete"] }],
    REPO.split("/")[0]!,
  );
});

const MEDIA_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, OCI_CONFIG, DOCKER_CONFIG, OCI_LAYER];

/** Values a hostile field takes: numbers past 2^53, negatives, floats, strings, nesting, unicode. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e308, -1, 2 ** 53 + 1, 0.5, -0, Number.MAX_SAFE_INTEGER, 0),
  fc.constantFrom("", "\u0000", "\u202e", "😀".repeat(50), "a".repeat(10_000), "application/json", "text/html"),
  fc.constantFrom(null, true),
  // A fresh [] and {} each time: one shared instance, mutated by the manifest built around it,
  // would come to contain itself (a circular value no JSON can hold).
  fc.constant(0).map(() => []),
  fc.constant(0).map(() => ({})),
  fc.constantFrom(...MEDIA_TYPES),
  digestLike.map((d) => decodeURIComponentSafe(d)),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer({ min: 1, max: 200 }).map((depth) => nested(depth)),
);

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `depth` arrays in each other: deep nesting stresses recursive parsers and validators. */
function nested(depth: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A valid image manifest of the pushed blobs, or an index of the pushed child, as an object. */
function baseOf(kind: "image" | "index", mediaType: string): Record<string, any> {
  if (kind === "index")
    return {
      schemaVersion: 2,
      mediaType,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: child.digest, size: new TextEncoder().encode(child.manifest).byteLength },
      ],
    };
  return {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: new TextEncoder().encode(CONFIG).byteLength },
    layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: new TextEncoder().encode(LAYER).byteLength }],
  };
}

/** Paths into a manifest where hostile values go. */
const FIELD_PATHS = [
  ["schemaVersion"],
  ["mediaType"],
  ["config"],
  ["config", "mediaType"],
  ["config", "digest"],
  ["config", "size"],
  ["layers"],
  ["layers", 0],
  ["layers", 0, "digest"],
  ["layers", 0, "size"],
  ["layers", 0, "urls"],
  ["manifests"],
  ["manifests", 0, "digest"],
  ["manifests", 0, "size"],
  ["manifests", 0, "platform"],
  ["subject"],
  ["subject", "digest"],
  ["annotations"],
  ["annotations", "k"],
  ["artifactType"],
  ["__proto__"],
] as const;

function setAt(target: Record<string, any>, path: readonly (string | number)[], value: unknown): void {
  let node: any = target;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = typeof key === "number" ? [] : {};
    node = node[key];
  }
  // defineProperty, so that `__proto__` becomes an own key of the JSON as an attacker would send it.
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
}

/** The body as sent: the JSON of the mutated manifest, with a key repeated or the text cut, maybe. */
const manifestBody = fc
  .record({
    kind: fc.constantFrom("image", "index"),
    mediaType: fc.constantFrom(...MEDIA_TYPES),
    mutations: fc.array(fc.tuple(fc.constantFrom(...FIELD_PATHS), hostileValue), { maxLength: 3 }),
    finish: fc.constantFrom("as-is", "as-is", "duplicate-key", "truncate", "trailing", "bom"),
  })
  .map(({ kind, mediaType, mutations, finish }) => {
    const manifest = baseOf(kind as "image" | "index", mediaType);
    for (const [path, value] of mutations) setAt(manifest, path, value);
    const json = JSON.stringify(manifest);
    const body = {
      "as-is": json,
      // JSON.parse keeps the last; a second parser might keep the first (a known confusion attack).
      "duplicate-key": json.replace(/^\{/, `{"mediaType":"${OCI_INDEX}",`),
      truncate: json.slice(0, Math.floor(json.length / 2)),
      trailing: `${json} {}`,
      bom: `\ufeff${json}`,
    }[finish];
    return { body, mediaType };
  });

describe("fuzzing manifests and indexes", () => {
  it(
    "a PUT of any manifest-like body answers 201 or an OCI error, and what it accepts reads back whole",
    async () => {
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(
          manifestBody,
          fc.oneof(fc.constantFrom("", "application/json", "text/plain"), fc.constantFrom(...MEDIA_TYPES)),
          fc.constantFrom("tag", "digest"),
          async ({ body, mediaType }, contentType, by) => {
            const reference = by === "digest" ? await sha256(body) : `f${crypto.randomUUID().slice(0, 8)}`;
            const res = await fuzzRequest("registry", "PUT", `/v2/${REPO}/manifests/${reference}`, {
              token,
              body,
              headers: { "Content-Type": contentType || mediaType },
            });
            if (res.status !== 201) return;
            accepted++;
            const digest = res.headers.get("Docker-Content-Digest")!;
            const back = await fuzzRequest("registry", "GET", `/v2/${REPO}/manifests/${digest}`, {
              token,
              headers: { Accept: MEDIA_TYPES.join(", ") },
            });
            // Bytes, not text: a decoder would drop a leading byte-order mark the registry must keep.
            const sent = new TextEncoder().encode(body);
            if (
              back.status !== 200 ||
              back.bytes.byteLength !== sent.byteLength ||
              back.bytes.some((b, i) => b !== sent[i])
            )
              throw new Error(`accepted manifest ${digest} reads back ${back.status}`);
          },
        ),
        runs(400),
      );
      // The property must have reached the success path too, not only refusals.
      expect(accepted).toBeGreaterThan(0);
    },
    timeFor(400),
  );

  it("leaves D1 consistent", async () => {
    expect(await brokenInvariants()).toEqual([]);
  });
});
