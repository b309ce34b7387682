/**
 * Quay's consent step (endpoints/web.py `request_authorization_code` and `deny_application`):
 *
 * - `GET /oauth/authorize?client_id&redirect_uri&scope&response_type&state` checks the request as
 *   `POST /oauth/authorizeapp` does; a visitor not signed in goes to `/signin?redirect=…`; a user
 *   who already gave this application at least these scopes is redirected at once (a new token or
 *   code, as Quay); anyone else gets the UI's consent screen (ui/src/pages/oauth/Authorize.tsx),
 *   which reads the same URL as JSON (`Accept: application/json`) for what it shows, and posts its
 *   approval to `/oauth/authorizeapp` as a plain HTML form.
 * - `POST /oauth/denyapp` is the screen's Cancel: back to the application with
 *   `error=access_denied` (RFC 6749 §4.1.2.1; Quay says `authorization_denied`).
 *
 * Stricter than Quay, which redirects a bad redirect URI's error to the application's registered
 * URI: nothing is redirected until the URI is one the application registered; until then the
 * answer is an error page (the UI, with status 400, showing the JSON's message).
 */
import { Hono, type Context } from "hono";
import type { OAuthApplication, User } from "../db/schema";
import { invalid } from "../errors/domain";
import { allowedRedirectUri } from "../identity/oauth-applications";
import { scopeInformation, authorizedApplicationView } from "../identity/oauth-authorizations";
import { findAuthorizableApplication, hasAuthorized } from "../identity/oauth-codes";
import { parseScopes } from "../identity/scopes";
import { csrfMatches } from "../identity/sessions";
import { browserSession } from "../middleware/api-caller";
import { ApiError } from "./api/errors";
import type { AppEnv } from "./app-env";
import { grantResponse, localHandlerOf, readForm, redirect, withQuery } from "./oauth-http";
import { serveUi } from "./ui-pages";

export const oauthAuthorizeRoutes = new Hono<AppEnv>();

type Checked = { refused: string } | { app: OAuthApplication; organization: User; redirectUri: string };

/** The application and the redirect URI as `allowedRedirectUri` parsed it, or why neither can be trusted. */
async function checkClient(c: Context<AppEnv>, clientId: string, requestedUri: string): Promise<Checked> {
  const found = clientId ? await findAuthorizableApplication(c.var.db, clientId) : undefined;
  if (!found) return { refused: "Unknown client_id: no application has it" };
  const redirectUri = allowedRedirectUri(found.app, requestedUri, localHandlerOf(c));
  if (!redirectUri) return { refused: "Invalid redirect URI" };
  return { app: found.app, organization: found.organization, redirectUri };
}

/** The UI's page (the consent screen, or its error), never cached: it answers for one user. */
async function uiPage(c: Context<AppEnv>, status: 200 | 400): Promise<Response> {
  const page = await serveUi(c);
  const response = new Response(page.body, { status, headers: page.headers });
  response.headers.set("Cache-Control", "no-store");
  response.headers.set("Vary", "Accept, Cookie");
  return response;
}

oauthAuthorizeRoutes.get("/authorize", async (c) => {
  const query = c.req.query();
  // The consent screen asks for its data on the page's own URL; a browser's navigation asks HTML.
  const asJson = /^application\/json\b/i.test(c.req.header("Accept") ?? "");
  const checked = await checkClient(c, query.client_id ?? "", query.redirect_uri ?? "");
  if ("refused" in checked) {
    if (asJson) throw invalid(checked.refused);
    return uiPage(c, 400);
  }
  const { app, redirectUri } = checked;
  const state = query.state || undefined;
  // Quay's default here is "code" (oauth2lib's authorization endpoint).
  const responseType = query.response_type || "code";
  const scopes = parseScopes(query.scope ?? "");
  const error =
    responseType !== "token" && responseType !== "code"
      ? "unsupported_response_type"
      : !scopes
        ? "invalid_scope"
        : null;
  if (error) {
    if (asJson) throw invalid(error === "invalid_scope" ? "Invalid scope" : "Unsupported response_type");
    return redirect(withQuery(redirectUri, { error, state }));
  }

  const who = await browserSession(c);
  if (!who) {
    if (asJson) throw new ApiError("invalid_token", "Sign in to authorize an application");
    const here = new URL(c.req.url);
    return redirect(`/signin?${new URLSearchParams({ redirect: here.pathname + here.search })}`);
  }
  const authorized = await hasAuthorized(c.var.db, who.user, app, scopes!);
  const grant = { app, redirectUri, scopes: scopes!, responseType: responseType as "token" | "code", state };
  if (!asJson) return authorized ? grantResponse(c, who.user, grant) : uiPage(c, 200);

  const info = scopeInformation(scopes!.join(" "));
  return c.json(
    {
      application: await authorizedApplicationView(app, checked.organization),
      client_id: app.clientId,
      redirect_uri: redirectUri,
      scope: scopes!.join(" "),
      scopes: info,
      has_dangerous_scopes: info.some((s) => s.dangerous),
      response_type: responseType,
      state: state ?? null,
      already_authorized: authorized,
      // Quay's page carries the session's CSRF token for its form, as this one posts it.
      csrf_token: who.session.csrfToken,
    },
    200,
    { "Cache-Control": "no-store", Vary: "Accept, Cookie" },
  );
});

oauthAuthorizeRoutes.post("/denyapp", async (c) => {
  const who = await browserSession(c);
  if (!who) throw new ApiError("invalid_token");
  const form = await readForm(c, ["client_id", "redirect_uri", "state", "_csrf_token"] as const);
  if (!csrfMatches(who.session, form._csrf_token || c.req.header("X-CSRF-Token"))) {
    throw new ApiError("insufficient_scope", "CSRF token was invalid or missing.");
  }
  const checked = await checkClient(c, form.client_id ?? "", form.redirect_uri ?? "");
  if ("refused" in checked) throw invalid(checked.refused);
  return redirect(withQuery(checked.redirectUri, { error: "access_denied", state: form.state || undefined }));
});
