/**
 * Sign-in with an external OpenID Connect provider (Quay `endpoints/api/user.py`
 * ExternalLoginInformation and DetachExternal): the provider's authorization URL, with the state
 * the browser must bring back sealed in a cookie that only `/oauth2` reads (src/routes/oauth2-login.ts),
 * and detaching a provider from the signed-in account.
 */
import { Hono, type Context } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { readConfig } from "../../config";
import { invalid, notFound } from "../../errors/domain";
import { detachExternal, LOGIN_STATE_TTL_MS, sealLoginState } from "../../identity/external-logins";
import { authorizationUrl, newChallenge, OidcRefused } from "../../identity/oidc-client";
import type { OidcProvider } from "../../lib/oidc-providers";
import { clock } from "../../lib/clock";
import { callerWith, sessionCaller } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { cookieOptions } from "./signin";
import { jsonBody } from "./validate";

export const externalLoginRoutes = new Hono<AppEnv>();

/** The cookie carrying a sign-in's sealed state to the callback; sent to `/oauth2/` only. */
export const LOGIN_STATE_COOKIE = "wharf_oidc_state";

/** The configured provider `id`, or Quay's 404 for any other. */
export function providerOf(c: Context<AppEnv>, id: string): OidcProvider {
  const provider = readConfig(c.env).OIDC_PROVIDERS.find((p) => p.id === id);
  if (!provider) throw notFound();
  return provider;
}

/** Where the provider sends the browser back: Quay's `/oauth2/{id}/callback[/attach]`. */
export const callbackUrl = (c: Context<AppEnv>, provider: OidcProvider, kind: "login" | "attach") =>
  `${c.var.publicOrigin.origin}/oauth2/${provider.id}/callback${kind === "attach" ? "/attach" : ""}`;

/** Only a same-origin path is somewhere to land (never `//host`, `/\host` or a scheme). */
export const safeRedirect = (value: string | undefined, fallback: string) =>
  value && /^\/(?![/\\])[^\s]*$/.test(value) ? value : fallback;

const loginBody = z.object({
  kind: z.enum(["login", "attach", "cli"]),
  /** Beyond Quay: the UI's page to return to after signing in. */
  redirect: z.string().max(2048).optional(),
});

documented("POST", "/externallogin/:service_id", {
  operationId: "retrieveExternalLoginAuthorizationUrl",
  summary: "The external login provider's authorization URL (kind login or attach), its state bound to this browser.",
  scope: null,
  body: loginBody,
});
externalLoginRoutes.post("/externallogin/:service_id", async (c) => {
  const provider = providerOf(c, c.req.param("service_id"));
  const body = await jsonBody(c, loginBody);
  if (body.kind === "cli") throw invalid("Wharf does not hand ID tokens to the CLI; use an application token");
  // Attaching links the provider to the account of a signed-in browser (Quay's @require_session_login).
  const attaching = body.kind === "attach" ? sessionCaller(c.var.caller) : null;
  const challenge = newChallenge();
  let authUrl: string;
  try {
    authUrl = await authorizationUrl(c.env, provider, callbackUrl(c, provider, body.kind), challenge);
  } catch (err) {
    // Quay's DownstreamIssue when the provider's discovery fails.
    if (err instanceof OidcRefused) throw new ApiError("downstream_issue", err.message);
    throw err;
  }
  // Quay lands an attach on the account's page, a sign-in on the repositories.
  const fallback = attaching ? `/user/${encodeURIComponent(attaching.username)}` : "/repository/";
  const expires = clock.now() + LOGIN_STATE_TTL_MS;
  const sealed = await sealLoginState(c.env, {
    ...challenge,
    service: provider.id,
    kind: body.kind,
    userId: attaching?.id ?? null,
    redirect: safeRedirect(body.redirect, fallback),
    expires,
  });
  setCookie(c, LOGIN_STATE_COOKIE, sealed, {
    ...cookieOptions(c),
    path: "/oauth2/",
    maxAge: LOGIN_STATE_TTL_MS / 1000,
  });
  return c.json({ auth_url: authUrl });
});

documented("POST", "/detachexternal/:service_id", {
  operationId: "detachExternalLogin",
  summary: "Detaches the signed-in user's account from the external login provider.",
  scope: "user:admin",
});
externalLoginRoutes.post("/detachexternal/:service_id", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  // Quay's @show_if(DIRECT_LOGIN): Wharf always has its own logins. Any service id is taken, as
  // Quay's: a provider removed from OIDC_PROVIDERS can still be detached.
  const service = c.req.param("service_id");
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(service)) throw notFound();
  await detachExternal(c.var.db, user, service, requestEvents(c));
  return c.json({ success: true });
});
