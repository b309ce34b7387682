/**
 * zod schemas of the manifests the registry accepts: OCI image manifest and image index
 * (image-spec v1.1 manifest.md, image-index.md, descriptor.md) and Docker's image manifest v2
 * schema 2 and manifest list. Unknown fields pass through: the stored bytes are what the client
 * sent, these schemas only check what the registry relies on.
 */
import { z } from "zod";
import { isSha256Digest, type Digest } from "./reference";

const digest = z.string().refine(isSha256Digest, "not a sha256 digest") as unknown as z.ZodType<Digest>;
const mediaTypeString = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/);
const annotations = z.record(z.string(), z.string());

export const descriptorSchema = z.looseObject({
  mediaType: mediaTypeString,
  digest,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  artifactType: mediaTypeString.optional(),
  data: z.string().optional(),
  platform: z.looseObject({ architecture: z.string(), os: z.string() }).optional(),
});

export type Descriptor = z.infer<typeof descriptorSchema>;

export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: mediaTypeString.optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: mediaTypeString.optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});

export type ImageManifest = z.infer<typeof imageManifestSchema>;
export type ImageIndex = z.infer<typeof imageIndexSchema>;
