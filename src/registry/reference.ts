/**
 * The grammars of distribution-spec v1.1 "Pulling manifests" in one place: repository names,
 * tags and digests. Routes, validation and tests all use these.
 */
import { z } from "zod";
import type { Digest } from "../lib/digest";

/** `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*` */
const NAME_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
export const NAME_PATTERN = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
/** Distribution caps the name at 255 characters; Docker clients do the same with the host. */
export const NAME_MAX_LENGTH = 255;

/** `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Digest grammar `algorithm ":" encoded`; only sha256 is registered for content here. */
export const DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_PATTERN = /^sha256:[a-f0-9]{64}$/;

export const repositoryName = z.string().max(NAME_MAX_LENGTH).regex(NAME_PATTERN);

export const tagName = z.string().regex(TAG_PATTERN);

/** Re-exported: the grammar's digests are the content addresses of src/lib/digest.ts. */
export type { Digest };

export function isDigestLike(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

/** True for a sha256 digest with a well-formed 64-hex encoding, the only algorithm stored. */
export function isSha256Digest(value: string): value is Digest {
  return SHA256_PATTERN.test(value);
}

/** A manifest reference is a tag or a digest. */
export type ManifestReference = { kind: "tag"; tag: string } | { kind: "digest"; digest: Digest };
