/**
 * OIDC_PROVIDERS: the external OpenID Connect providers people may sign in with (Quay's
 * `<NAME>_LOGIN_CONFIG` blocks with OIDC_SERVER, CLIENT_ID, SERVICE_NAME, SERVICE_ICON,
 * LOGIN_SCOPES, PREFERRED_USERNAME_CLAIM_NAME), as one JSON array in wrangler.toml [vars]. Client
 * secrets are no configuration: they come from the secret OIDC_CLIENT_SECRETS (a JSON object from
 * provider id to secret), so they never sit in wrangler.toml nor reach `GET /config`.
 */
import { z } from "zod";

/** Loopback hosts, where an issuer may be plain http (a provider on the developer's machine). */
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

const issuerUrl = z
  .url({ protocol: /^https?$/, error: "issuer must be an http(s) URL" })
  .max(2048)
  .refine((text) => {
    const url = new URL(text);
    // Quay refuses an OIDC_SERVER without TLS; Wharf too, but for loopback (local providers, tests).
    return url.protocol === "https:" || LOOPBACK.test(url.hostname);
  }, "issuer must be https (http only on loopback)")
  .refine((text) => !new URL(text).search && !new URL(text).hash, "issuer has no query or fragment")
  // Issuers compare without a trailing slash (Keycloak and Entra print them either way).
  .transform((text) => text.replace(/\/+$/, ""));

const providerSchema = z
  .object({
    /** Quay's service id: the path segment of `/oauth2/{id}/callback` and `/api/v1/externallogin/{id}`. */
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "id must be 1-32 of a-z, 0-9, '_' or '-'"),
    /** Quay's SERVICE_NAME: the button's words ("Sign in with <title>"). */
    title: z.string().trim().min(1).max(64),
    issuer: issuerUrl,
    client_id: z.string().min(1).max(512),
    /** Quay's LOGIN_SCOPES; `openid` is always asked for. */
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "a scope is one token"))
      .max(20)
      .optional(),
    /** Quay's SERVICE_ICON: an http(s) URL of an image for the button. */
    icon: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    /** Quay's PREFERRED_USERNAME_CLAIM_NAME: the claim a new account's name is made from. */
    username_claim: z.string().min(1).max(64).optional(),
  })
  .strict();

export interface OidcProvider {
  id: string;
  title: string;
  issuer: string;
  clientId: string;
  scopes: string[];
  icon: string | null;
  usernameClaim: string;
}

/** Parses OIDC_PROVIDERS (empty: none), or throws with what is wrong. */
export function parseOidcProviders(text: string): OidcProvider[] {
  if (text.trim() === "") return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("OIDC_PROVIDERS must be a JSON array of providers");
  }
  const parsed = z.array(providerSchema).max(10).safeParse(json);
  if (!parsed.success) throw new Error(`OIDC_PROVIDERS: ${z.prettifyError(parsed.error)}`);
  const ids = parsed.data.map((p) => p.id);
  if (new Set(ids).size !== ids.length) throw new Error("OIDC_PROVIDERS: two providers have the same id");
  return parsed.data.map((p) => ({
    id: p.id,
    title: p.title,
    issuer: p.issuer,
    clientId: p.client_id,
    scopes: [...new Set(["openid", ...(p.scopes ?? ["profile", "email"])])],
    icon: p.icon ?? null,
    usernameClaim: p.username_claim ?? "preferred_username",
  }));
}

/** The client secret of `id` from OIDC_CLIENT_SECRETS, or null (a public client, PKCE alone). */
export function oidcClientSecret(env: { OIDC_CLIENT_SECRETS?: string }, id: string): string | null {
  const text = env.OIDC_CLIENT_SECRETS?.trim();
  if (!text) return null;
  try {
    const secrets = JSON.parse(text) as unknown;
    const secret = secrets && typeof secrets === "object" ? (secrets as Record<string, unknown>)[id] : undefined;
    return typeof secret === "string" && secret !== "" ? secret : null;
  } catch {
    throw new Error("OIDC_CLIENT_SECRETS must be a JSON object from provider id to client secret");
  }
}
