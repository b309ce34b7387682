/**
 * /oauth: Quay's web OAuth endpoints. `POST /oauth/authorizeapp` (Quay endpoints/web.py
 * `authorize_application` with data/model/oauth.py `get_token_response`) is the approval step of
 * the implicit grant: the user, signed in or giving a password, lets an organization's OAuth
 * application act for them, and is redirected to the application with a new access token.
 */
import { Hono, type Context } from "hono";
import { browserSession } from "../middleware/api-caller";
import { requestEvents, requestLogin } from "../middleware/event-scope";
import { ApiError } from "./api/errors";
import { invalid, notFound } from "../errors/domain";
import { readConfig } from "../config";
import type { Statement } from "../db/client";
import type { Session, User } from "../db/schema";
import type { AppEnv } from "./app-env";
import { serveUi } from "./ui-pages";
import { parseBasic, proveBasic } from "../identity/credentials";
import { commitLogin } from "../identity/logins";
import { LoginGuard } from "../identity/login-limits";
import { clientAddressOf } from "../lib/client-address";
import { allowedRedirectUri, findApplicationByClientId } from "../identity/oauth-applications";
import { assignAuthorization, findAssignment, redeemAssignment } from "../identity/oauth-assignments";
import { parseScopes } from "../identity/scopes";
import { csrfMatches } from "../identity/sessions";
import { issueOAuthToken } from "../identity/tokens";
import { readBounded } from "../lib/http";
import { clock } from "../lib/clock";

export const oauthRoutes = new Hono<AppEnv>();

/** An approval form holds a handful of short fields. */
const MAX_FORM_BYTES = 64 * 1024;
/** Quay's `token_expires_in`: ten years of 365.25 days. */
const TOKEN_LIFETIME_S = 315_576_000;
/** Quay's LOCAL_OAUTH_HANDLER: the registry's own token page, a valid redirect for every client. */
const LOCAL_HANDLER = "/oauth/localapp";
const FIELDS = [
  "client_id",
  "redirect_uri",
  "scope",
  "response_type",
  "state",
  "_csrf_token",
  "username",
  "assignment_uuid",
] as const;
type Form = Partial<Record<(typeof FIELDS)[number], string>>;

type Approver = { user: User; via: "basic" } | { user: User; via: "session"; session: Session };

/**
 * Who approves: Basic credentials if sent (they win over a cookie, as Quay's
 * `process_auth_or_cookie`), else the browser's session. Only a password counts as Basic: an
 * application token (or an OAuth token as `$oauthtoken`) must not mint broader ten-year tokens.
 */
async function approver(c: Context<AppEnv>): Promise<Approver> {
  const header = c.req.header("Authorization");
  if (header && /^Basic\b/i.test(header)) {
    const credentials = parseBasic(header);
    const guard = new LoginGuard(c.env, clientAddressOf(c.req.raw));
    const proven = credentials ? await proveBasic(c.var.db, c.env, credentials, guard) : null;
    // Only a password is a login here; a token proven here is recorded as a refused one.
    const audit = requestLogin(c, "authorizeapp", { recordSuccess: true, accepts: ["password"] });
    const who = credentials ? await commitLogin(c.var.db, audit, { username: credentials.username, proven }) : null;
    if (!proven) throw new ApiError("invalid_token", "Invalid username or password");
    if (!who) throw new ApiError("insufficient_scope", "Only a password can authorize an application");
    return { user: who.user, via: "basic" };
  }
  const found = await browserSession(c);
  if (!found) throw new ApiError("invalid_token");
  return { ...found, via: "session" };
}

/** The form fields, from an urlencoded or multipart body read at most MAX_FORM_BYTES. */
async function readForm(c: Context<AppEnv>): Promise<Form> {
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
    FIELDS.flatMap((name) => (typeof get(name) === "string" ? [[name, get(name) as string]] : [])),
  );
}

/**
 * Quay's `build_url`: the redirect URI with `params` added to its query. The URI is a parsed
 * URL's `href` without a fragment (`allowedRedirectUri` refuses one: RFC 6749 §3.1.2).
 */
function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams(
    Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  const separator = !uri.includes("?") ? "?" : /[?&]$/.test(uri) ? "" : "&";
  return `${uri}${separator}${query}`;
}

/**
 * A 302 to `location` (a serialized URL, so only characters a header can hold). The URL may
 * carry a token: no cache may keep the answer.
 */
function redirect(location: string): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: location, "Cache-Control": "no-store", Pragma: "no-cache" },
  });
}

/** Quay's local handler: the static page (ui/oauth/localapp.html) showing a token minted for Wharf's own UI. */
oauthRoutes.get(LOCAL_HANDLER.slice("/oauth".length), (c) => serveUi(c));
oauthRoutes.get(`${LOCAL_HANDLER.slice("/oauth".length)}.js`, (c) => serveUi(c));

oauthRoutes.post("/authorizeapp", async (c) => {
  const who = await approver(c);
  const form = await readForm(c);
  const clientId = form.client_id ?? "";

  // Quay's rule: CSRF is checked unless a password came as Basic for a whitelisted client (scripts
  // minting tokens). Basic for any other client has no session to check a token against.
  const direct = who.via === "basic" && readConfig(c.env).DIRECT_OAUTH_CLIENTID_WHITELIST.includes(clientId);
  if (
    !direct &&
    (who.via !== "session" || !csrfMatches(who.session, form._csrf_token || c.req.header("X-CSRF-Token")))
  ) {
    throw new ApiError("insufficient_scope", "CSRF token was invalid or missing.");
  }

  // Stricter than Quay, which redirects an unknown client's errors to whatever URI it was given
  // (an open redirect): nothing is redirected until the URI is one the application registered.
  // The URI as parsed is what was checked, so it is what the token is sent to.
  const app = clientId ? await findApplicationByClientId(c.var.db, clientId) : undefined;
  const redirectUri = app
    ? allowedRedirectUri(app, form.redirect_uri ?? "", c.var.publicOrigin.origin + LOCAL_HANDLER)
    : null;
  if (!app || !redirectUri) throw invalid("Invalid redirect URI");

  // RFC 6749 §4.2.2.1 wants `state` back with errors too; Quay sends none, which no client needs.
  const state = form.state || undefined;
  // Wharf has no authorization-code flow (nor Quay's /oauth/access_token): only the implicit grant.
  // Quay's handler always answers with a token whatever response_type says, and its documented
  // direct-approval request sends none (its own form sends it empty), so absent means "token".
  if ((form.response_type || "token") !== "token") {
    return redirect(withQuery(redirectUri, { error: "unsupported_response_type", state }));
  }
  const scopes = parseScopes(form.scope ?? "");
  if (!scopes) return redirect(withQuery(redirectUri, { error: "invalid_scope", state }));

  const approving = { kind: "user" as const, name: who.user.username, id: who.user.id };
  const events = requestEvents(c, approving);
  // Quay's FEATURE_ASSIGN_OAUTH_TOKEN: `username` asks that user to authorize the application (an
  // admin of its organization only); `assignment_uuid` answers such a request, which ends with it.
  // Quay assigns on a GET of /oauth/authorize; Wharf only here, under the approval's CSRF rule.
  let also: Statement[] = [];
  if (readConfig(c.env).FEATURE_ASSIGN_OAUTH_TOKEN && (form.username || form.assignment_uuid)) {
    if (form.username) {
      const uuid = await assignAuthorization(c.var.db, who.user, app, form.username, { redirectUri, scopes }, events);
      return c.json({ message: "Token assigned successfully", uuid });
    }
    const found = await findAssignment(c.var.db, who.user, form.assignment_uuid!);
    if (found.application.id !== app.id) throw notFound();
    also = [redeemAssignment(c.var.db, found)];
  }
  const expiresAt = clock.now() + TOKEN_LIFETIME_S * 1000;
  const token = await issueOAuthToken(c.var.db, who.user, { scopes, application: app, expiresAt, also }, events);
  // Quay puts the granted scope in the query and the token in the fragment (RFC 6749 §4.2.2), where
  // it never reaches the application's server logs; `state` goes to both for clients of either.
  const fragment = new URLSearchParams({
    access_token: token,
    token_type: "Bearer",
    expires_in: String(TOKEN_LIFETIME_S),
    ...(state ? { state } : {}),
  });
  return redirect(`${withQuery(redirectUri, { scope: scopes.join(" "), state })}#${fragment}`);
});
