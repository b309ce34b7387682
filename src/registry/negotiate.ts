/**
 * Content negotiation on manifest GET/HEAD. Stored bytes are always served as pushed (digests must
 * not change); the one substitution is distribution's: a client whose Accept lists manifest types
 * but no index type gets the linux/amd64 image of an index rather than a type it cannot read.
 */
import { z } from "zod";
import type { Manifest } from "../db/schema";
import type { BlobStore } from "../storage/blob-store";
import { acceptedMediaTypes, isIndexMediaType, MANIFEST_MEDIA_TYPES } from "./media-types";
import { manifestBody } from "./manifests";
import { isSha256Digest, type Digest } from "./reference";

const platformEntries = z.object({
  manifests: z.array(
    z.looseObject({
      digest: z.string(),
      platform: z.looseObject({ os: z.string(), architecture: z.string() }).optional(),
    }),
  ),
});

/**
 * `resolve` finds a live manifest of the same repository by digest (D1, or a cached fact for a
 * pull-only token: src/registry/pull.ts).
 */
export async function negotiateManifest(
  resolve: (digest: Digest) => Promise<Manifest | undefined>,
  store: BlobStore,
  manifest: Manifest,
  accept: string | null | undefined,
): Promise<Manifest> {
  if (!isIndexMediaType(manifest.mediaType)) return manifest;
  const accepted = acceptedMediaTypes(accept);
  const listsManifestTypes = accepted.some((type) => MANIFEST_MEDIA_TYPES.includes(type));
  const wildcard = accepted.some((type) => type === "*/*" || type === "application/*");
  if (!listsManifestTypes || wildcard || accepted.includes(manifest.mediaType)) return manifest;

  const body = await new Response(await manifestBody(store, manifest)).json().catch(() => null);
  const parsed = platformEntries.safeParse(body);
  if (!parsed.success) return manifest;
  const child = parsed.data.manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64");
  if (!child || !isSha256Digest(child.digest)) return manifest;
  return (await resolve(child.digest).catch(() => undefined)) ?? manifest;
}
