/**
 * Where an external OpenID Connect provider sends the browser back (Quay `endpoints/oauth/
 * login.py`): `GET /oauth2/{service_id}/callback` signs in (the account linked to the provider's
 * subject, or a new one) and `GET /oauth2/{service_id}/callback/attach` links the subject to the
 * signed-in account. Only a browser holding the sealed state of a sign-in it started gets that far
 * (src/identity/external-logins.ts), so a forged link signs nobody in. Success redirects to a page
 * of the UI on this origin; a refusal is a small page saying why (Quay renders its index with the
 * error, status 400), never a 500.
 */
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { readConfig } from "../config";
import { attachExternal, loginStarted, openLoginState, signInExternal } from "../identity/external-logins";
import { exchangeCode, type ExternalIdentity, OidcRefused } from "../identity/oidc-client";
import { commitLogin } from "../identity/logins";
import { isSuperuser } from "../identity/users";
import { SESSION_COOKIE, SESSION_TTL_MS } from "../identity/sessions";
import { oidcClientSecret } from "../lib/oidc-providers";
import { browserSession } from "../middleware/api-caller";
import { requestEvents, requestLogin } from "../middleware/event-scope";
import { callbackUrl, LOGIN_STATE_COOKIE, safeRedirect } from "./api/external-login";
import { cookieOptions } from "./api/signin";
import { READ_ONLY_MESSAGE } from "../middleware/read-only";
import type { AppEnv } from "./app-env";

export const oauth2LoginRoutes = new Hono<AppEnv>();

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** The refusal page: the reason and the way back to the sign-in page. */
function refusalPage(status: 400 | 404, title: string, message: string): Response {
  const body = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in failed</title><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>
<p><a href="/signin">Back to sign in</a></p></main>\n`;
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    },
  });
}

async function callback(c: Context<AppEnv>, kind: "login" | "attach"): Promise<Response> {
  const config = readConfig(c.env);
  const provider = config.OIDC_PROVIDERS.find((p) => p.id === c.req.param("service_id"));
  if (!provider) return refusalPage(404, "Sign-in failed", "No such external login provider.");
  const title = `Could not sign in with ${provider.title}`;
  const refuse = (message: string) => {
    deleteCookie(c, LOGIN_STATE_COOKIE, { ...cookieOptions(c), path: "/oauth2/" });
    const res = refusalPage(400, title, message);
    for (const cookie of c.res.headers.getSetCookie()) res.headers.append("Set-Cookie", cookie);
    return res;
  };
  const query = c.req.query();
  // The provider's own refusal (RFC 6749 §4.1.2.1): the person declined, or the provider failed.
  // Its words are shown only to a browser that started a sign-in here: anyone can link to this
  // page, whose text on the registry's own origin would otherwise be whatever the link says.
  if (query.error) {
    const started = await loginStarted(c.env, getCookie(c, LOGIN_STATE_COOKIE), { service: provider.id, kind });
    return refuse(
      started
        ? (query.error_description || query.error).slice(0, 300)
        : `${provider.title} did not complete the sign-in.`,
    );
  }
  const audit = requestLogin(c, "signin", { recordSuccess: true });
  let identity: ExternalIdentity | null = null;
  try {
    const state = await openLoginState(c.env, getCookie(c, LOGIN_STATE_COOKIE), {
      service: provider.id,
      kind,
      state: query.state ?? "",
    });
    if (!query.code) throw new OidcRefused("The provider sent no authorization code");
    const secret = oidcClientSecret(c.env, provider.id);
    const redirectUri = callbackUrl(c, provider, kind);
    identity = await exchangeCode(c.env, provider, secret, query.code.slice(0, 4096), redirectUri, state);
    if (kind === "attach") {
      // The browser that asked to attach must still be signed in as the account that asked.
      const signedIn = await browserSession(c);
      if (!signedIn || signedIn.user.id !== state.userId)
        throw new OidcRefused("Sign in to the account to attach the login to, then try again");
      await attachExternal(
        c.var.db,
        provider,
        signedIn.user,
        identity,
        config.REGISTRY_TITLE_SHORT,
        requestEvents(c, { kind: "user", name: signedIn.user.username, id: signedIn.user.id }),
      );
    } else {
      const signedIn = await signInExternal(
        c.var.db,
        provider,
        identity,
        {
          userCreation: config.FEATURE_USER_CREATION,
          readOnlyMessage: config.REGISTRY_STATE === "readonly" ? READ_ONLY_MESSAGE : undefined,
          registryTitle: config.REGISTRY_TITLE_SHORT,
          reservedName: (name) => isSuperuser(config, name),
        },
        audit,
      );
      setCookie(c, SESSION_COOKIE, signedIn.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
    }
    deleteCookie(c, LOGIN_STATE_COOKIE, { ...cookieOptions(c), path: "/oauth2/" });
    return c.redirect(`${c.var.publicOrigin.origin}${safeRedirect(state.redirect, "/repository/")}`, 302);
  } catch (err) {
    if (!(err instanceof OidcRefused)) throw err;
    // A refusal once the provider vouched for someone is a failed login, as a wrong password is.
    if (identity && kind === "login")
      await commitLogin(c.var.db, audit, { username: identity.username, proven: null, presented: "oidc" });
    return refuse(err.message);
  }
}

oauth2LoginRoutes.get("/:service_id/callback", (c) => callback(c, "login"));
oauth2LoginRoutes.get("/:service_id/callback/attach", (c) => callback(c, "attach"));
