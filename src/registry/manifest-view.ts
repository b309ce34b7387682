/**
 * What Quay's `GET /api/v1/repository/{repository}/manifest/{manifestref}` shows of a manifest
 * (`endpoints/api/manifest.py` `_manifest_dict`): its bytes, and for an image its layers with the
 * config history each came from. Callers check access.
 */
import type { Db } from "../db/client";
import type { Manifest } from "../db/schema";
import { quayDate } from "../identity/app-tokens";
import type { BlobStore } from "../storage/blob-store";
import { readImageConfig, type ImageConfig } from "./labels";
import { manifestBody } from "./manifests";
import { isIndexMediaType } from "./media-types";
import type { Digest } from "./reference";

/**
 * The empty layer Quay stands in for a config history entry marked `empty_layer` (image/docker/
 * schema2/__init__.py `EMPTY_LAYER_BLOB_DIGEST` and `EMPTY_LAYER_SIZE`: distribution's gzipped
 * empty tar), so each history step shows as a layer.
 */
export const EMPTY_LAYER_DIGEST = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
export const EMPTY_LAYER_SIZE = 32;

/**
 * Quay's `_manifest_dict`. `layers_compressed_size` is the manifest's layers' compressed size
 * (Quay's manifest row: 0 for an index, which has none). `layers` walks the config's history as
 * Quay's `_manifest_image_layers` does: one entry per history step, a step marked `empty_layer`
 * as Quay's empty layer, every other step taking the next layer of the manifest; without a
 * history, or one that does not line up with the layers (Quay then fails the whole request),
 * the manifest's layers with null history fields. `layers` is null for an index and for a
 * manifest without layers (Quay: `if layers else None`).
 */
export async function manifestView(db: Db, store: BlobStore, manifest: Manifest) {
  const text = new TextDecoder().decode(await manifestBody(store, manifest));
  const isList = isIndexMediaType(manifest.mediaType);
  const layers = isList ? [] : layerDescriptors(JSON.parse(text));
  const config =
    layers.length > 0
      ? await readImageConfig(db, store, {
          configDigest: manifest.configDigest as Digest | null,
          configMediaType: manifest.configMediaType,
        })
      : null;
  const steps = historySteps(config, layers);
  return {
    digest: manifest.digest,
    is_manifest_list: isList,
    manifest_data: text,
    config_media_type: manifest.configMediaType,
    layers_compressed_size: layers.reduce((sum, layer) => sum + layer.size, 0),
    layers:
      steps.length === 0
        ? null
        : steps.map(({ layer, entry }, index) => ({
            index,
            compressed_size: layer.size,
            is_remote: layer.urls !== null,
            urls: layer.urls,
            command: entry ? commandOf(entry.created_by) : null,
            comment: entry ? stringOrNull(entry.comment) : null,
            author: entry ? stringOrNull(entry.author) : null,
            blob_digest: layer.digest,
            created_datetime:
              entry && typeof entry.created === "string" && !Number.isNaN(Date.parse(entry.created))
                ? quayDate(Date.parse(entry.created))
                : null,
          })),
  };
}

const stringOrNull = (value: unknown) => (typeof value === "string" ? value : null);

type LayerDescriptor = { digest: string; size: number; urls: string[] | null };

/** The stored manifest was validated on push: `layers` is an array of descriptors. */
function layerDescriptors(json: { layers?: Array<{ digest: string; size: number; urls?: string[] }> }) {
  return (json.layers ?? []).map(
    (l): LayerDescriptor => ({
      digest: l.digest,
      size: l.size,
      urls: Array.isArray(l.urls) && l.urls.length > 0 ? l.urls : null,
    }),
  );
}

type HistoryEntry = {
  created?: unknown;
  created_by?: unknown;
  comment?: unknown;
  author?: unknown;
  empty_layer?: unknown;
};

const EMPTY_LAYER: LayerDescriptor = { digest: EMPTY_LAYER_DIGEST, size: EMPTY_LAYER_SIZE, urls: null };

/** Each layer Quay lists, with the history entry it came from (null when the history does not line up). */
function historySteps(config: ImageConfig | null, layers: LayerDescriptor[]) {
  const plain = layers.map((layer) => ({ layer, entry: null as HistoryEntry | null }));
  if (!Array.isArray(config?.history)) return plain;
  const entries = (config.history as unknown[]).map((e) =>
    typeof e === "object" && e !== null ? (e as HistoryEntry) : {},
  );
  const filled = entries.filter((e) => e.empty_layer !== true).length;
  if (filled !== layers.length) return plain;
  let next = 0;
  return entries.map((entry) => ({ layer: entry.empty_layer === true ? EMPTY_LAYER : layers[next++]!, entry }));
}

/** Quay: `created_by` that is a JSON array (schema 1) as is, any other text as a one-item list. */
function commandOf(createdBy: unknown): string[] | null {
  if (typeof createdBy !== "string" || createdBy === "") return null;
  try {
    const parsed: unknown = JSON.parse(createdBy);
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed;
  } catch {
    // Not JSON: a shell command line.
  }
  return [createdBy];
}
