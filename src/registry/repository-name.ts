/**
 * A repository's name, parsed once. Every surface (/v2 paths, token scopes, /api/v1 paths) turns
 * what a client wrote into the canonical `namespace/rest` form here, and everything downstream
 * (permissions, storage, the repository's Durable Object) derives the namespace from that form
 * only. Two parsers that disagree on where the namespace ends let one tenant act on another's
 * repository: a single-component name `owner` was once stored under namespace `owne` while its
 * permissions were checked for `owner`.
 *
 * Quay's FEATURE_LIBRARY_SUPPORT (default on): a single-component name `foo` means
 * `<LIBRARY_NAMESPACE>/foo` (Quay's `util/names.py` `parse_namespace_repository`), on /v2, in token
 * scopes and in the API alike. With the feature off such a name is refused.
 */
import { readConfig, type Config } from "../config";
import { DomainError } from "../errors/domain";
import { repositoryName } from "./reference";

export interface NameRules {
  /** Quay's FEATURE_LIBRARY_SUPPORT. */
  librarySupport: boolean;
  /** Quay's LIBRARY_NAMESPACE: where single-component names live. */
  libraryNamespace: string;
}

/** This registry's rules, from its configuration. */
export function nameRules(env: Partial<Record<keyof Config, unknown>>): NameRules {
  const config = readConfig(env);
  return { librarySupport: config.FEATURE_LIBRARY_SUPPORT, libraryNamespace: config.LIBRARY_NAMESPACE };
}

export type ParsedName = { ok: true; name: string } | { ok: false; reason: "invalid" | "implicit_library" };

/**
 * The canonical name for what a client wrote: distribution's grammar (at most 255 characters,
 * counted on the canonical form, which is what is stored and addressed) and at least two
 * components once the library namespace is applied.
 */
export function parseRepositoryName(raw: string | undefined, rules: NameRules): ParsedName {
  if (raw === undefined || !repositoryName.safeParse(raw).success) return { ok: false, reason: "invalid" };
  if (raw.includes("/")) return { ok: true, name: raw };
  if (!rules.librarySupport) return { ok: false, reason: "implicit_library" };
  const name = `${rules.libraryNamespace}/${raw}`;
  return repositoryName.safeParse(name).success ? { ok: true, name } : { ok: false, reason: "invalid" };
}

/** The canonical name, or an invalid name error saying why (on /v2, NAME_INVALID). */
export function requireRepositoryName(raw: string | undefined, rules: NameRules): string {
  const parsed = parseRepositoryName(raw, rules);
  if (parsed.ok) return parsed.name;
  const message =
    parsed.reason === "implicit_library" ? "repository names need a namespace (library support is off)" : undefined;
  throw new DomainError("invalid", { subject: "name", detail: { name: raw }, message });
}

/** The canonical name, or null: for callers that treat every malformed name alike. */
export function canonicalRepositoryName(raw: string | undefined, rules: NameRules): string | null {
  const parsed = parseRepositoryName(raw, rules);
  return parsed.ok ? parsed.name : null;
}

/**
 * `namespace/rest` → `[namespace, rest]`, for canonical names only (Quay's API shows `rest` as the
 * repository's `name`). A name without a namespace here is a bug upstream, never guessed at.
 */
export function splitName(name: string): [namespace: string, rest: string] {
  const slash = name.indexOf("/");
  if (slash <= 0) throw new Error(`not a canonical repository name: ${JSON.stringify(name)}`);
  return [name.slice(0, slash), name.slice(slash + 1)];
}

export const namespaceOf = (name: string): string => splitName(name)[0];
export const shortName = (name: string): string => splitName(name)[1];
