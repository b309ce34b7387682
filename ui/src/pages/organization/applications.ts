/** What the OAuth application screens share: Quay's application view and small helpers. */

/** An application as `GET /api/v1/organization/{org}/applications` lists it (Quay's `app_view`). */
export interface OAuthApplication {
  name: string;
  description: string;
  application_uri: string;
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  avatar_email: string | null;
}

/** Links the API hands back are only followed when they are http(s). */
export function httpUrl(value: string | null | undefined): boolean {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Quay's local OAuth handler: the registry's own page that shows a token minted for a person. */
export const LOCAL_HANDLER = "/oauth/localapp";

/** A scope with Quay's title, as the API's Swagger document lists them. */
export interface ScopeChoice {
  scope: string;
  title: string;
}

/**
 * The scope catalogue as the API publishes it: `GET /api/v1/discovery` (Quay's Swagger document)
 * names every scope and its title under `securityDefinitions.oauth2_implicit.scopes`.
 */
export function scopesOf(discovery: unknown): ScopeChoice[] {
  const definitions = (discovery as { securityDefinitions?: Record<string, { scopes?: Record<string, string> }> })
    ?.securityDefinitions;
  const scopes = definitions?.oauth2_implicit?.scopes ?? {};
  return Object.entries(scopes).map(([scope, title]) => ({ scope, title: String(title) }));
}
