/**
 * Manifest labels (Quay `endpoints/api/manifest.py`, `data/model/oci/label.py`): key/value pairs
 * attached to a repository's manifest, not to a tag. A push records the image config's `Labels`
 * (source `manifest`); the API adds (source `api`, label-writes.ts), lists, reads and deletes them.
 *
 * Quay's JSON for one label: `{"id","key","value","source_type","media_type"}`.
 */
import { and, asc, eq } from "drizzle-orm";
import { DomainError } from "../errors/domain";
import type { Db } from "../db/client";
import { chunksForStatement } from "../db/chunks";
import { manifestLabels, type ManifestLabel } from "../db/schema";
import { hex } from "../lib/encoding";
import type { BlobStore } from "../storage/blob-store";
import { findBlob } from "./blobs";
import type { ParsedManifest } from "./manifest-parse";
import { isIndexMediaType, MediaType } from "./media-types";
import { manifestIdOf } from "./tags";
import { startsWithText } from "../db/text-match";

/** Quay's DEFAULT_LABEL_KEY_RESERVED_PREFIXES: keys the API may not set (the image may). */
export const RESERVED_LABEL_PREFIXES: readonly string[] = [
  "com.docker.",
  "io.docker.",
  "org.dockerproject.",
  "org.opencontainers.",
  "io.cncf.",
  "io.kubernetes.",
  "io.k8s.",
  "io.quay",
  "com.coreos",
  "com.tectonic",
  "internal",
];

/** Quay `util/validation.py` VALID_LABEL_KEY_REGEX, with its 255-character bound. */
export const LABEL_KEY_PATTERN = /^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$/;
export const MAX_LABEL_KEY_LENGTH = 255;
/**
 * Quay bounds no value. Wharf keeps values to 4 KiB (UTF-8), through the API and from images
 * alike, so a label insert of a push stays far inside D1's statement limits.
 */
export const MAX_LABEL_VALUE_BYTES = 4096;
/** Labels one manifest may carry: bounds a listing, which Quay does not page. */
export const MAX_LABELS_PER_MANIFEST = 1000;

export const LABEL_MEDIA_TYPES = ["text/plain", "application/json"] as const;
export type LabelMediaType = (typeof LABEL_MEDIA_TYPES)[number];

export interface LabelView {
  id: string;
  key: string;
  value: string;
  source_type: ManifestLabel["sourceType"];
  media_type: LabelMediaType;
}

export function labelView(label: Pick<ManifestLabel, "id" | "key" | "value" | "sourceType" | "mediaType">): LabelView {
  return {
    id: label.id,
    key: label.key,
    value: label.value,
    source_type: label.sourceType,
    media_type: label.mediaType,
  };
}

/** Quay's `is_json`: an object or array that parses. Decides a label's media type when none is given. */
export function looksLikeJson(value: string): boolean {
  if (!((value.startsWith("{") && value.endsWith("}")) || (value.startsWith("[") && value.endsWith("]")))) return false;
  return parsesAsJson(value);
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

// ---------------------------------------------------------------------------------------------
// The API side.

/** Quay answers these with `abort(400, message=…)`: invalid_request carrying `message`. */
export const refusal = (message: string) => new DomainError("invalid", { message, fields: { message } });

export interface NewLabel {
  key: string;
  value: string;
  /** Quay's AddLabel allows null: the type is then inferred from the value. */
  mediaType: LabelMediaType | null;
}

/** The label an API caller asked for, checked in Quay's order, with its media type settled. */
export function checkApiLabel(input: NewLabel): NewLabel & { mediaType: LabelMediaType } {
  const { key, value } = input;
  if (RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix))) throw refusal("Label has a reserved prefix");
  if (key.length > MAX_LABEL_KEY_LENGTH || !LABEL_KEY_PATTERN.test(key)) {
    throw refusal(`Label is of an invalid format or missing please use ${LABEL_KEY_PATTERN.source} format for labels`);
  }
  if (byteLength(value) > MAX_LABEL_VALUE_BYTES)
    throw refusal(`Label value is larger than ${MAX_LABEL_VALUE_BYTES} bytes`);
  const mediaType = input.mediaType ?? (looksLikeJson(value) ? "application/json" : "text/plain");
  // Quay stores any value under application/json; Wharf refuses one that a client could not parse.
  if (mediaType === "application/json" && !parsesAsJson(value))
    throw refusal("Label value is not valid JSON for media type application/json");
  return { key, value, mediaType };
}

/**
 * The manifest's labels, oldest first, optionally those whose key starts with `prefix` (Quay's
 * `prefix_search`: case-insensitive for ASCII, as its LIKE; the prefix is literal: ../db/text-match.ts).
 */
export async function listLabels(db: Db, manifestId: number, prefix?: string): Promise<ManifestLabel[]> {
  const ofManifest = eq(manifestLabels.manifestId, manifestId);

  return db
    .select()
    .from(manifestLabels)
    .where(prefix ? and(ofManifest, startsWithText(manifestLabels.key, prefix)) : ofManifest)
    .orderBy(asc(manifestLabels.createdAt), asc(manifestLabels.key))
    .all();
}

export async function findLabel(db: Db, manifestId: number, labelId: string): Promise<ManifestLabel | undefined> {
  return db
    .select()
    .from(manifestLabels)
    .where(and(eq(manifestLabels.manifestId, manifestId), eq(manifestLabels.id, labelId)))
    .get();
}

// ---------------------------------------------------------------------------------------------
// The push side.

/** The parts of a Docker or OCI image config Wharf reads (image-spec config.md). */
export interface ImageConfig {
  config?: { Labels?: unknown };
  history?: unknown;
}

/**
 * An image config is read whole; a real one is a few KiB. One over 1 MiB is not read at all
 * (no labels, no layer history) rather than buffered in the Worker.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

const IMAGE_CONFIG_TYPES: readonly string[] = [MediaType.DockerConfig, MediaType.OciConfig];

/** The image's config document, or null for indexes, artifacts, and configs unreadable or too large. */
export async function readImageConfig(
  db: Db,
  store: BlobStore,
  parsed: Pick<ParsedManifest, "configDigest" | "configMediaType">,
): Promise<ImageConfig | null> {
  if (!parsed.configDigest || !parsed.configMediaType || !IMAGE_CONFIG_TYPES.includes(parsed.configMediaType))
    return null;
  const blob = await findBlob(db, parsed.configDigest);
  if (!blob || blob.size > MAX_CONFIG_BYTES) return null;
  const object = await store.get(blob.storageKey);
  if (!object) return null;
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(await new Response(object.body).arrayBuffer()));
    return typeof json === "object" && json !== null && !Array.isArray(json) ? (json as ImageConfig) : null;
  } catch {
    return null;
  }
}

/** The config's `config.Labels`, string values only (Docker writes nothing else). */
export function configLabels(config: ImageConfig | null): Record<string, string> {
  const labels = config?.config?.Labels;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

/** A label a push records: plain data, as it crosses to the repository's Durable Object. */
export interface PushedLabel {
  id: string;
  key: string;
  value: string;
  mediaType: LabelMediaType;
}

/** Bounds a push's label inserts (at most 72 statements in the commit batch). */
export const MAX_PUSHED_LABELS = 1000;

/**
 * The labels a pushed manifest carries, as Quay's `get_manifest_labels`: an image's config labels,
 * then the manifest's annotations (an OCI artifact: annotations only; an index: none). Where both
 * name a key the image label wins, as for `quay.expires-after`. Empty keys are skipped (Quay), and
 * so are keys over 255 characters and values over 4 KiB (Wharf's bounds).
 *
 * Each id is derived from (repository, manifest digest, key), so pushing the manifest again
 * inserts nothing new (see {@link pushedLabelStatements}).
 */
export async function pushedLabels(
  repositoryId: number,
  digest: string,
  parsed: Pick<ParsedManifest, "mediaType" | "annotations">,
  labels: Record<string, string>,
): Promise<PushedLabel[]> {
  if (isIndexMediaType(parsed.mediaType)) return [];
  const merged = { ...parsed.annotations, ...labels };
  const kept = Object.entries(merged)
    .filter(
      ([key, value]) =>
        key.length > 0 && key.length <= MAX_LABEL_KEY_LENGTH && byteLength(value) <= MAX_LABEL_VALUE_BYTES,
    )
    .slice(0, MAX_PUSHED_LABELS);
  return Promise.all(
    kept.map(async ([key, value]) => ({
      id: await labelUuid(`${repositoryId}\n${digest}\n${key}`),
      key,
      value,
      mediaType: looksLikeJson(value) ? ("application/json" as const) : ("text/plain" as const),
    })),
  );
}

/** A version-8 UUID (RFC 9562 §5.8) from the SHA-256 of `name`. */
async function labelUuid(name: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name))).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Inserts of a push's labels for the commit batch, after the manifest's upsert (its id comes from
 * a sub-select). A manifest pushed again gets the same ids, which conflict and are skipped: its
 * image labels are never recorded twice. A row binds 7 parameters (its id, key, value and media
 * type, its source, and the manifest's id sub-select its repository and digest).
 */
export function pushedLabelStatements(db: Db, repositoryId: number, digest: string, labels: readonly PushedLabel[]) {
  const statements = [];
  for (const chunk of chunksForStatement(labels, { perValue: 7 })) {
    const rows = chunk.map((label) => ({
      id: label.id,
      manifestId: manifestIdOf(repositoryId, digest),
      key: label.key,
      value: label.value,
      sourceType: "manifest" as const,
      mediaType: label.mediaType,
    }));
    statements.push(db.insert(manifestLabels).values(rows).onConflictDoNothing());
  }
  return statements;
}
