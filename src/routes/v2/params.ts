/**
 * Path and query parameters of /v2, checked with the grammars of src/registry/reference.ts and
 * failing with the spec's codes (NAME_INVALID, DIGEST_INVALID, MANIFEST_INVALID…).
 */
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { RegistryError } from "./errors";
import { findRepository, reservedComponent, reservedNameError } from "../../registry/repositories";
import { isDigestLike, isSha256Digest, tagName, type Digest, type ManifestReference } from "../../registry/reference";
import { nameRules, requireRepositoryName } from "../../registry/repository-name";

/**
 * The canonical repository name of the request's `:name` (`foo` is `library/foo` with Quay's
 * library support), or NAME_INVALID. Access checks, storage and answers all use this one form.
 */
export function parseName(c: Context<AppEnv>): string {
  return requireRepositoryName(c.req.param("name"), nameRules(c.env));
}

/**
 * Routes that may create the repository (a first push) refuse a reserved name (Quay's `build`,
 * `trigger`, `tag`, `notification`) with NAME_INVALID before any token question, so the client
 * reads why rather than an authentication failure. A repository that already bears such a name
 * (created before the rule) keeps working.
 */
export function refuseReservedName(): MiddlewareHandler<AppEnv> {
  return async function checkReservedName(c, next) {
    const name = parseName(c);
    const reserved = reservedComponent(name);
    if (reserved && !(await findRepository(c.var.db, name))) throw reservedNameError(name, reserved);
    await next();
  };
}

/** A digest the registry can store: well-formed sha256. Other algorithms are not supported. */
export function parseDigest(
  value: string | undefined | null,
  code: "DIGEST_INVALID" | "BLOB_UNKNOWN" = "DIGEST_INVALID",
): Digest {
  if (value && isSha256Digest(value)) return value;
  const reason = value && isDigestLike(value) ? "unsupported digest algorithm (sha256 only)" : "malformed digest";
  throw new RegistryError(code, { digest: value ?? null, reason });
}

/** The reference of a manifest PUT: a valid tag (else TAG_INVALID) or sha256 digest (else DIGEST_INVALID). */
export function parseReference(value: string | undefined): ManifestReference {
  if (value?.includes(":")) return { kind: "digest", digest: parseDigest(value) };
  const tag = tagName.safeParse(value);
  if (!tag.success) throw new RegistryError("TAG_INVALID", { tag: value }, { message: "invalid tag" });
  return { kind: "tag", tag: tag.data };
}

/**
 * The reference of a manifest GET, HEAD or DELETE, or null when it is neither a valid tag nor a
 * sha256 digest. No manifest can exist there, so the routes answer MANIFEST_UNKNOWN (404) rather
 * than a syntax error, as distribution does and the conformance suite checks
 * (`.INVALID_MANIFEST_NAME`); only a PUT, which would create something, refuses the reference.
 */
export function lookupReference(value: string | undefined): ManifestReference | null {
  if (value === undefined) return null;
  if (isSha256Digest(value)) return { kind: "digest", digest: value };
  const tag = tagName.safeParse(value);
  return tag.success ? { kind: "tag", tag: tag.data } : null;
}

/** The spec's page size; without `n` a page holds {@link DEFAULT_PAGE} entries and links the next. */
export const DEFAULT_PAGE = 1000;

const pageQuery = z.object({
  // Plain decimal digits only (z.coerce would take "", "0x10", "1e3", " 2"); an empty `n` is
  // absent, as in distribution, rather than 0.
  n: z
    .string()
    .regex(/^\d*$/)
    .transform((v) => (v === "" ? undefined : Number(v)))
    .optional(),
  last: z.string().max(256).optional(),
});

export function parsePage(query: Record<string, string>): { n: number; last?: string } {
  const parsed = pageQuery.safeParse(query);
  if (!parsed.success) throw new RegistryError("PAGINATION_NUMBER_INVALID", { n: query.n });
  return { n: Math.min(parsed.data.n ?? DEFAULT_PAGE, DEFAULT_PAGE), last: parsed.data.last };
}
