/**
 * `quay.expires-after` (Quay docs §8.7 and §16.3): the span, its units and refusals, label before
 * annotation, and through real pushes the pushed tag's lifetime ending a span after the push.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { tags } from "../../src/db/schema";
import { expiresAfterMs } from "../../src/registry/expires-after";
import { prepareManifest } from "../../src/registry/manifests";
import { findRepository } from "../../src/registry/repositories";
import { R2BlobStore } from "../../src/storage/r2-blob-store";
import { db } from "./helpers/accounts";
import {
  bytesOf,
  EMPTY_DIGEST,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  pushManifest,
  putManifest,
  sha256,
  subjectNamed,
  TESTER,
  uniqueName,
  imageManifest,
} from "./helpers/registry";
import { eventsAs } from "./helpers/events";
import { writableCores } from "../../src/registry/core-db";

const PUSH = Date.UTC(2026, 0, 1);
const MAX = 104 * 604_800;
const KEY = "quay.expires-after";

describe("expiresAfterMs", () => {
  it.each([
    ["30s", 30],
    ["5m", 300],
    ["2h", 7_200],
    ["3d", 259_200],
    ["2w", 1_209_600],
    ["1y", 31_536_000],
    [" 20h ", 72_000],
  ])("%s from a label is that many seconds after the push", (value, seconds) => {
    expect(expiresAfterMs({ [KEY]: value }, null, PUSH, MAX)).toBe(PUSH + seconds * 1000);
  });

  it.each(["", "2", "h", "2x", "2H", "1.5h", "-1h", "+1h", "2 weeks", "1h30m", "0s", "0w", "9999999999s"])(
    "ignores the malformed or empty span %j",
    (value) => {
      expect(expiresAfterMs({ [KEY]: value }, null, PUSH, MAX)).toBeNull();
    },
  );

  it("honours MAXIMUM_TAG_EXPIRATION exactly, and ignores (does not clamp) a longer span", () => {
    expect(expiresAfterMs({ [KEY]: "104w" }, null, PUSH, MAX)).toBe(PUSH + MAX * 1000);
    expect(expiresAfterMs({ [KEY]: "105w" }, null, PUSH, MAX)).toBeNull();
    expect(expiresAfterMs({ [KEY]: "3y" }, null, PUSH, MAX)).toBeNull();
    expect(expiresAfterMs({ [KEY]: "2h" }, null, PUSH, 3_600)).toBeNull();
    expect(expiresAfterMs({ [KEY]: "1h" }, null, PUSH, 3_600)).toBe(PUSH + 3_600_000);
  });

  it("reads the manifest annotation when the image has no such label", () => {
    expect(expiresAfterMs({ other: "1d" }, { [KEY]: "2d" }, PUSH, MAX)).toBe(PUSH + 2 * 86_400_000);
    expect(expiresAfterMs(null, { [KEY]: "2d" }, PUSH, MAX)).toBe(PUSH + 2 * 86_400_000);
  });

  it("prefers the image label to the annotation, even when the label is malformed", () => {
    expect(expiresAfterMs({ [KEY]: "1h" }, { [KEY]: "2d" }, PUSH, MAX)).toBe(PUSH + 3_600_000);
    expect(expiresAfterMs({ [KEY]: "soon" }, { [KEY]: "2d" }, PUSH, MAX)).toBeNull();
  });

  it("is null without the key, and for a key of another case", () => {
    expect(expiresAfterMs(null, null, PUSH, MAX)).toBeNull();
    expect(expiresAfterMs({}, {}, PUSH, MAX)).toBeNull();
    expect(expiresAfterMs({ "Quay.Expires-After": "1h" }, { "quay.expires-after ": "1h" }, PUSH, MAX)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Through real pushes.

/** An artifact (empty config, as `oras push --annotation`) with manifest annotations. */
function artifactManifest(annotations: Record<string, string>): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.unknown.artifact.v1",
    config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2, data: "e30=" },
    layers: [{ mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: 2, data: "e30=" }],
    annotations,
  });
}

/** The tag's lifetime rows in the repository, oldest first. */
async function lifetimes(name: string, tag: string) {
  const repository = (await findRepository(db(), name))!;
  const rows = await db()
    .select()
    .from(tags)
    .where(and(eq(tags.repositoryId, repository.id), eq(tags.name, tag)))
    .all();
  return rows.sort((a, b) => a.lifetimeStartMs - b.lifetimeStartMs);
}

/** Pushes `manifest` as `tag`; returns the window of clock readings the push happened in. */
async function timedPush(name: string, tag: string, manifest: string): Promise<{ before: number; after: number }> {
  const before = Date.now();
  await pushManifest(name, tag, manifest, OCI_MANIFEST);
  return { before, after: Date.now() };
}

describe("quay.expires-after on push", () => {
  it("ends the pushed tag's lifetime a span after the push (image label)", async () => {
    const name = uniqueName("expiry");
    const { before, after } = await timedPush(name, "v1", await imageManifest(name, { [KEY]: "2h", other: "x" }));
    const [row] = await lifetimes(name, "v1");
    expect(row!.lifetimeEndMs).toBeGreaterThanOrEqual(before + 7_200_000);
    expect(row!.lifetimeEndMs).toBeLessThanOrEqual(after + 7_200_000);
    expect(row!.lifetimeEndMs! - row!.lifetimeStartMs).toBeLessThanOrEqual(7_200_000);
    expect(row!.lifetimeEndMs! - row!.lifetimeStartMs).toBeGreaterThan(7_200_000 - (after - before) - 1);
  });

  it("reads the annotation of an artifact (oras push --annotation quay.expires-after=2d)", async () => {
    const name = uniqueName("expiry");
    const { before, after } = await timedPush(name, "art", artifactManifest({ [KEY]: "2d" }));
    const [row] = await lifetimes(name, "art");
    expect(row!.lifetimeEndMs).toBeGreaterThanOrEqual(before + 2 * 86_400_000);
    expect(row!.lifetimeEndMs).toBeLessThanOrEqual(after + 2 * 86_400_000);
  });

  it("takes the image label over the manifest's annotation", async () => {
    const name = uniqueName("expiry");
    const { before, after } = await timedPush(
      name,
      "both",
      await imageManifest(name, { [KEY]: "1h" }, { [KEY]: "3w" }),
    );
    const [row] = await lifetimes(name, "both");
    expect(row!.lifetimeEndMs).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(row!.lifetimeEndMs).toBeLessThanOrEqual(after + 3_600_000);
  });

  it.each([
    ["malformed", "two weeks"],
    ["beyond MAXIMUM_TAG_EXPIRATION (104w)", "105w"],
    ["zero", "0h"],
  ])("pushes a tag without expiry for a %s value", async (_, value) => {
    const name = uniqueName("expiry");
    await timedPush(name, "v1", await imageManifest(name, { [KEY]: value }));
    const rows = await lifetimes(name, "v1");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.lifetimeEndMs).toBeNull();
  });

  it("gives no expiry to an image without the label, nor to an index (Quay: indexes carry no labels)", async () => {
    const name = uniqueName("expiry");
    const child = await imageManifest(name, {});
    await timedPush(name, "plain", child);
    expect((await lifetimes(name, "plain"))[0]!.lifetimeEndMs).toBeNull();
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: await sha256(child), size: bytesOf(child).byteLength }],
      annotations: { [KEY]: "1h" },
    });
    expect((await putManifest(name, "multi", index, OCI_INDEX)).status).toBe(201);
    expect((await lifetimes(name, "multi"))[0]!.lifetimeEndMs).toBeNull();
  });

  it("starts a new lifetime with the new image's expiry when the tag moves", async () => {
    const name = uniqueName("expiry");
    await timedPush(name, "moving", await imageManifest(name, {}));
    const { before, after } = await timedPush(name, "moving", await imageManifest(name, { [KEY]: "30m" }));
    const rows = await lifetimes(name, "moving");
    expect(rows).toHaveLength(2);
    expect(rows[0]!.lifetimeEndMs).toBe(rows[1]!.lifetimeStartMs);
    expect(rows[1]!.lifetimeEndMs).toBeGreaterThanOrEqual(before + 1_800_000);
    expect(rows[1]!.lifetimeEndMs).toBeLessThanOrEqual(after + 1_800_000);
  });

  it("bounds the span by the MAXIMUM_TAG_EXPIRATION it is given (a push gives the configured one)", async () => {
    expect(readConfig(env).MAXIMUM_TAG_EXPIRATION).toBe(MAX);
    const name = uniqueName("expiry");
    const manifest = await imageManifest(name, { [KEY]: "2h" });
    const tester = await subjectNamed(TESTER);
    const events = await eventsAs(TESTER);
    const prepare = (limits = { maxTagExpirationSeconds: readConfig(env).MAXIMUM_TAG_EXPIRATION }) =>
      prepareManifest(
        db(),
        writableCores(env),
        new R2BlobStore(env.BLOBS),
        name,
        { kind: "tag", tag: "x" },
        bytesOf(manifest),
        OCI_MANIFEST,
        tester,
        limits,
        events,
      );
    const before = Date.now();
    expect((await prepare())!.expiresAtMs).toBeGreaterThanOrEqual(before + 7_200_000);
    expect((await prepare({ maxTagExpirationSeconds: 3_600 })).expiresAtMs).toBeNull();
    expect((await prepare({ maxTagExpirationSeconds: 7_200 })).expiresAtMs).toBeGreaterThanOrEqual(before + 7_200_000);
  });
});
