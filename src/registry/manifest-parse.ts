/**
 * Turns pushed manifest bytes into what the registry records about them, or a MANIFEST_INVALID.
 * The media type comes from the manifest's `mediaType` field, else the request's Content-Type,
 * else its shape; when both are given they must agree (distribution-spec "Pushing Manifests").
 */
import type { z } from "zod";
import { conflictingKey } from "../lib/json-keys";
import { DomainError } from "../errors/domain";
import { imageIndexSchema, imageManifestSchema, type Descriptor } from "./manifest-schemas";
import { isForeignLayer, isIndexMediaType, MANIFEST_MEDIA_TYPES, MediaType } from "./media-types";
import type { Digest } from "./reference";

export interface ParsedManifest {
  mediaType: string;
  /** The manifest's `artifactType`, or for an image its config's media type (referrers API). */
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: Digest | null;
  subject: Digest | null;
  annotations: Record<string, string> | null;
  /** Blobs that must be in the repository: config and distributable layers. */
  blobs: Digest[];
  /** Child manifests that must be in the repository (index entries). */
  manifests: Digest[];
}

export function parseManifest(bytes: Uint8Array, contentType: string): ParsedManifest {
  let json: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    json = JSON.parse(text);
  } catch {
    throw new DomainError("invalid", { subject: "manifest", detail: { reason: "manifest is not valid UTF-8 JSON" } });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new DomainError("invalid", { subject: "manifest", detail: { reason: "manifest is not a JSON object" } });
  }
  // Issue #12: a name given twice (or twice but for case) is read differently by different
  // parsers, so what the registry checked need not be what a client pulls (src/lib/json-keys.ts).
  const conflict = conflictingKey(text);
  if (conflict) {
    const reason = conflict.key === conflict.with ? "duplicate key" : "keys that differ only by case";
    throw new DomainError("invalid", {
      subject: "manifest",
      detail: { reason, key: conflict.key, conflictsWith: conflict.with },
    });
  }
  const declared = (json as { mediaType?: unknown }).mediaType;
  if (declared !== undefined && typeof declared !== "string") {
    throw new DomainError("invalid", { subject: "manifest", detail: { reason: "mediaType must be a string" } });
  }
  const fromHeader = MANIFEST_MEDIA_TYPES.includes(contentType) ? contentType : undefined;
  if (declared && fromHeader && declared !== fromHeader) {
    throw new DomainError("invalid", {
      subject: "manifest",
      detail: {
        reason: "the manifest's mediaType does not match Content-Type",
        mediaType: declared,
        contentType,
      },
    });
  }
  const mediaType = declared ?? fromHeader ?? ("manifests" in json ? MediaType.OciIndex : MediaType.OciManifest);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new DomainError("invalid", {
      subject: "manifest",
      detail: { reason: "unsupported manifest media type", mediaType },
    });
  }
  return isIndexMediaType(mediaType) ? parseIndex(json, mediaType) : parseImage(json, mediaType);
}

function check<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new DomainError("invalid", {
      subject: "manifest",
      detail: { reason: "manifest does not match its schema", issues },
    });
  }
  return result.data;
}

function parseImage(json: unknown, mediaType: string): ParsedManifest {
  const manifest = check(imageManifestSchema, json);
  const layers = manifest.layers.filter((layer: Descriptor) => !isForeignLayer(layer.mediaType));
  return {
    mediaType,
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    configMediaType: manifest.config.mediaType,
    configDigest: manifest.config.digest,
    subject: manifest.subject?.digest ?? null,
    annotations: manifest.annotations ?? null,
    blobs: unique([manifest.config.digest, ...layers.map((l: Descriptor) => l.digest)]),
    manifests: [],
  };
}

function parseIndex(json: unknown, mediaType: string): ParsedManifest {
  const index = check(imageIndexSchema, json);
  return {
    mediaType,
    artifactType: index.artifactType ?? null,
    configMediaType: null,
    configDigest: null,
    subject: index.subject?.digest ?? null,
    annotations: index.annotations ?? null,
    blobs: [],
    manifests: unique(index.manifests.map((m: Descriptor) => m.digest)),
  };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
