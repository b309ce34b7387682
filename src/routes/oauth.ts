/**
 * /oauth: Quay's web OAuth endpoints. `POST /oauth/authorizeapp` (Quay endpoints/web.py
 * `authorize_application` with data/model/oauth.py `get_token_response`) is the approval step: the
 * user, signed in or giving a password, lets an organization's OAuth application act for them, and
 * is redirected to the application with a new access token (implicit grant) or a one-time code
 * (authorization-code grant). The consent screen (`GET /oauth/authorize`, `POST /oauth/denyapp`) is
 * in ./oauth-authorize.ts, the code's exchange (`POST /oauth/access_token`) in ./oauth-token.ts.
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
import { grantResponse, LOCAL_HANDLER, localHandlerOf, readForm, redirect, withQuery } from "./oauth-http";
import { oauthAuthorizeRoutes } from "./oauth-authorize";
import { oauthTokenRoutes } from "./oauth-token";

export const oauthRoutes = new Hono<AppEnv>();

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

/** Quay's local handler: the static page (ui/oauth/localapp.html) showing a token minted for Wharf's own UI. */
oauthRoutes.get(LOCAL_HANDLER.slice("/oauth".length), (c) => serveUi(c));
oauthRoutes.get(`${LOCAL_HANDLER.slice("/oauth".length)}.js`, (c) => serveUi(c));

oauthRoutes.post("/authorizeapp", async (c) => {
  const who = await approver(c);
  const form = await readForm(c, FIELDS);
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
  const redirectUri = app ? allowedRedirectUri(app, form.redirect_uri ?? "", localHandlerOf(c)) : null;
  if (!app || !redirectUri) throw invalid("Invalid redirect URI");

  // RFC 6749 §4.2.2.1 wants `state` back with errors too; Quay sends none, which no client needs.
  const state = form.state || undefined;
  // Quay's handler always answers with a token whatever response_type says, and its documented
  // direct-approval request sends none (its own form sends it empty), so absent means "token".
  // `code` is RFC 6749's authorization-code grant, which Quay's consent page never asks here.
  const responseType = form.response_type || "token";
  if (responseType !== "token" && responseType !== "code") {
    return redirect(withQuery(redirectUri, { error: "unsupported_response_type", state }));
  }
  const scopes = parseScopes(form.scope ?? "");
  if (!scopes) return redirect(withQuery(redirectUri, { error: "invalid_scope", state }));

  const approving = { kind: "user" as const, name: who.user.username, id: who.user.id };
  // Quay's FEATURE_ASSIGN_OAUTH_TOKEN: `username` asks that user to authorize the application (an
  // admin of its organization only); `assignment_uuid` answers such a request, which ends with it.
  // Quay assigns on a GET of /oauth/authorize; Wharf only here, under the approval's CSRF rule.
  // Assignments are of the implicit grant (Quay's `response_type` of them is always "token").
  let also: Statement[] = [];
  if (readConfig(c.env).FEATURE_ASSIGN_OAUTH_TOKEN && (form.username || form.assignment_uuid)) {
    if (responseType !== "token") {
      return redirect(withQuery(redirectUri, { error: "unsupported_response_type", state }));
    }
    if (form.username) {
      const events = requestEvents(c, approving);
      const uuid = await assignAuthorization(c.var.db, who.user, app, form.username, { redirectUri, scopes }, events);
      return c.json({ message: "Token assigned successfully", uuid });
    }
    const found = await findAssignment(c.var.db, who.user, form.assignment_uuid!);
    if (found.application.id !== app.id) throw notFound();
    also = [redeemAssignment(c.var.db, found)];
  }
  return grantResponse(c, who.user, { app, redirectUri, scopes, responseType, state, also });
});

oauthRoutes.route("/", oauthAuthorizeRoutes);
oauthRoutes.route("/", oauthTokenRoutes);
