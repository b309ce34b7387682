/**
 * What the /oauth routes share (./oauth.ts, ./oauth-authorize.ts, ./oauth-token.ts): Quay's
 * token lifetime and local handler, its `build_url`, the redirect every grant ends with, and how
 * an approval's form is read.
 */
import type { Context } from "hono";
import type { Statement } from "../db/client";
import type { OAuthApplication, User } from "../db/schema";
import { invalid } from "../errors/domain";
import { issueAuthorizationCode } from "../identity/oauth-codes";
import type { Scope } from "../identity/scopes";
import { issueOAuthToken } from "../identity/tokens";
import { clock } from "../lib/clock";
import { readBounded } from "../lib/http";
import { requestEvents } from "../middleware/event-scope";
import { ApiError } from "./api/errors";
import type { AppEnv } from "./app-env";

/** Quay's `token_expires_in`: ten years of 365.25 days. */
export const TOKEN_LIFETIME_S = 315_576_000;
/** Quay's LOCAL_OAUTH_HANDLER: the registry's own token page, a valid redirect for every client. */
export const LOCAL_HANDLER = "/oauth/localapp";
/** An approval form holds a handful of short fields. */
export const MAX_FORM_BYTES = 64 * 1024;

/** The registry's own token page as an absolute URL, which `allowedRedirectUri` allows for every client. */
export const localHandlerOf = (c: Context<AppEnv>) => c.var.publicOrigin.origin + LOCAL_HANDLER;

/**
 * Quay's `build_url`: the redirect URI with `params` added to its query. The URI is a parsed
 * URL's `href` without a fragment (`allowedRedirectUri` refuses one: RFC 6749 §3.1.2).
 */
export function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(
    Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  const separator = !uri.includes("?") ? "?" : /[?&]$/.test(uri) ? "" : "&";
  return `${uri}${separator}${query}`;
}

/**
 * A 302 to `location` (a serialized URL, so only characters a header can hold). The URL may
 * carry a token or a code: no cache may keep the answer.
 */
export function redirect(location: string): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: location, "Cache-Control": "no-store", Pragma: "no-cache" },
  });
}

/** The named fields of an urlencoded or multipart body read at most MAX_FORM_BYTES; absent ones are left out. */
export async function readForm<F extends string>(
  c: Context<AppEnv>,
  fields: readonly F[],
): Promise<Partial<Record<F, string>>> {
  const type = c.req.header("Content-Type") ?? "";
  const urlencoded = /^application\/x-www-form-urlencoded\b/i.test(type);
  if (!urlencoded && !/^multipart\/form-data\b/i.test(type)) {
    throw invalid("Content-Type must be application/x-www-form-urlencoded or multipart/form-data");
  }
  const bytes = await readBounded(
    c.req.raw,
    MAX_FORM_BYTES,
    () => new ApiError("invalid_request", "Request body too large", { status: 413 }),
  );
  let get: (name: string) => unknown;
  if (urlencoded) {
    const params = new URLSearchParams(new TextDecoder().decode(bytes));
    get = (name) => params.get(name);
  } else {
    const form = await new Response(bytes, { headers: { "Content-Type": type } }).formData().catch(() => {
      throw invalid("Malformed multipart body");
    });
    get = (name) => form.get(name);
  }
  // Files are not fields: a field sent as one reads as absent.
  return Object.fromEntries(
    fields.flatMap((name) => (typeof get(name) === "string" ? [[name, get(name) as string]] : [])),
  ) as Partial<Record<F, string>>;
}

/**
 * The answer to an approved request: for `token`, Quay's implicit grant (a new ten-year token;
 * the granted scope in the query, the token in the fragment (RFC 6749 §4.2.2), where it never
 * reaches the application's server logs; `state` in both for clients of either); for `code`, a
 * one-time code in the query (§4.1.2) for the application's server to exchange.
 */
export async function grantResponse(
  c: Context<AppEnv>,
  user: User,
  grant: {
    app: OAuthApplication;
    redirectUri: string;
    scopes: Scope[];
    responseType: "token" | "code";
    state: string | undefined;
    also?: Statement[];
  },
): Promise<Response> {
  const { app, redirectUri, scopes, state } = grant;
  if (grant.responseType === "code") {
    const code = await issueAuthorizationCode(c.var.db, user, app, { redirectUri, scopes });
    return redirect(withQuery(redirectUri, { code, state }));
  }
  const events = requestEvents(c, { kind: "user", name: user.username, id: user.id });
  const expiresAt = clock.now() + TOKEN_LIFETIME_S * 1000;
  const token = await issueOAuthToken(
    c.var.db,
    user,
    { scopes, application: app, expiresAt, also: grant.also },
    events,
  );
  const fragment = new URLSearchParams({
    access_token: token,
    token_type: "Bearer",
    expires_in: String(TOKEN_LIFETIME_S),
    ...(state ? { state } : {}),
  });
  return redirect(`${withQuery(redirectUri, { scope: scopes.join(" "), state })}#${fragment}`);
}
