/**
 * Quay's OAuth scopes. A token carries a set of them; every /api/v1 route names the scope it needs
 * (Quay: `@require_scope(scopes.READ_REPO)` and friends).
 */
export const SCOPES = {
  "repo:read": "View all visible repositories",
  "repo:write": "Read/Write to any accessible repositories",
  "repo:admin": "Administer Repositories",
  "repo:create": "Create Repositories",
  "user:read": "Read User Information",
  "user:admin": "Administer User",
  "org:admin": "Administer Organization",
  "super:user": "Super User Access",
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

/** Quay's scope strings are space- or comma-separated; unknown scopes make the whole string invalid. */
export function parseScopes(text: string): Scope[] | null {
  const names = text.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0 || !names.every(isScope)) return null;
  return [...new Set(names)] as Scope[];
}

/**
 * Whether `held` grants `needed`. As in Quay, a broader scope implies the narrower one of its kind:
 * repo:admin ⊃ repo:write ⊃ repo:read, user:admin ⊃ user:read.
 */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  const implied: Record<Scope, Scope[]> = {
    "repo:read": ["repo:read", "repo:write", "repo:admin"],
    "repo:write": ["repo:write", "repo:admin"],
    "repo:admin": ["repo:admin"],
    "repo:create": ["repo:create"],
    "user:read": ["user:read", "user:admin"],
    "user:admin": ["user:admin"],
    "org:admin": ["org:admin"],
    "super:user": ["super:user"],
  };
  return implied[needed].some((scope) => held.includes(scope));
}

/**
 * Whether a login made with a token of `scopes` may take `action` on a repository (Quay maps
 * repo:read to pulling, repo:write to pushing and deleting, repo:create to creating by push).
 */
export function scopesAllowRegistryAction(
  scopes: readonly Scope[],
  action: string,
  repositoryExists: boolean,
): boolean {
  if (action === "pull") return grants(scopes, "repo:read");
  if (action === "push" && !repositoryExists) return grants(scopes, "repo:create") && grants(scopes, "repo:write");
  return grants(scopes, "repo:write");
}
