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
 * Quay's `_manifest_dict`. Layers are the manifest's own, each with the config history entry it
 * came from (history entries marked `empty_layer` skipped; when the counts disagree the history
 * fields are null). Quay also lists empty history entries as synthetic layers: Wharf does not
 * invent blobs. `layers` is null for an index, and for a manifest without layers (Quay: `if
 * layers else None`).
 */
export async function manifestView(db: Db, store: BlobStore, manifest: Manifest) {
  const text = new TextDecoder().decode(await manifestBody(store, manifest));
  const isList = isIndexMediaType(manifest.mediaType);
  const layers = isList ? [] : layerDescriptors(JSON.parse(text));
  const history =
    layers.length > 0
      ? layerHistory(
          await readImageConfig(db, store, {
            configDigest: manifest.configDigest as Digest | null,
            configMediaType: manifest.configMediaType,
          }),
          layers.length,
        )
      : [];
  return {
    digest: manifest.digest,
    is_manifest_list: isList,
    manifest_data: text,
    config_media_type: manifest.configMediaType,
    layers_compressed_size: isList ? null : layers.reduce((sum, layer) => sum + layer.size, 0),
    layers:
      layers.length === 0
        ? null
        : layers.map((layer, index) => {
            const entry = history[index];
            return {
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
            };
          }),
  };
}

const stringOrNull = (value: unknown) => (typeof value === "string" ? value : null);

/** The stored manifest was validated on push: `layers` is an array of descriptors. */
function layerDescriptors(json: { layers?: Array<{ digest: string; size: number; urls?: string[] }> }) {
  return (json.layers ?? []).map((l) => ({
    digest: l.digest,
    size: l.size,
    urls: Array.isArray(l.urls) && l.urls.length > 0 ? l.urls : null,
  }));
}

type HistoryEntry = {
  created?: unknown;
  created_by?: unknown;
  comment?: unknown;
  author?: unknown;
  empty_layer?: unknown;
};

function layerHistory(config: ImageConfig | null, layerCount: number): HistoryEntry[] {
  if (!Array.isArray(config?.history)) return [];
  const entries = (config.history as unknown[]).filter(
    (e): e is HistoryEntry => typeof e === "object" && e !== null && (e as HistoryEntry).empty_layer !== true,
  );
  return entries.length === layerCount ? entries : [];
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
