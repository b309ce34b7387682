/**
 * Browser sign-in (Quay `POST /api/v1/signin`, `POST /api/v1/signout`, `GET /csrf_token`).
 * Sign-in takes JSON only: an HTML form on another site cannot send it without a CORS preflight,
 * which Wharf never grants, so no one can sign a victim's browser into another account.
 */
import { Hono, type Context } from "hono";
import { documented } from "./openapi";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents, requestLogin } from "../../middleware/event-scope";
import { ApiError } from "./errors";
import { invalid } from "../../errors/domain";
import { jsonBody } from "./validate";
import type { AppEnv } from "../app-env";
import { LoginGuard } from "../../identity/login-limits";
import { clientAddressOf } from "../../lib/client-address";
import { SESSION_COOKIE, SESSION_TTL_MS } from "../../identity/sessions";
import { signIn, signOut } from "../../identity/sign-in";

export const signinRoutes = new Hono<AppEnv>();

/** Cookies are Secure except on loopback, where the registry runs without TLS. */
export function cookieOptions(c: Context<AppEnv>) {
  const host = new URL(c.req.url).hostname;
  const loopback = host === "localhost" || host === "127.0.0.1" || host === "[::1]";
  return { httpOnly: true, sameSite: "Lax" as const, path: "/", secure: !loopback };
}

const signinBody = z.object({ username: z.string().min(1).max(255), password: z.string().min(1).max(1024) });

documented("POST", "/signin", {
  operationId: "signinUser",
  summary: "Signs a browser in (session cookie).",
  scope: null,
  body: signinBody,
});
signinRoutes.post("/signin", async (c) => {
  if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? ""))
    throw invalid("Content-Type must be application/json");
  const body = await jsonBody(c, signinBody);
  const guard = new LoginGuard(c.env, clientAddressOf(c.req.raw));
  const signedIn = await signIn(c.var.db, c.env, body, guard, requestLogin(c, "signin", { recordSuccess: true }));
  if (signedIn === "unverified") {
    // Quay's answer to an account that has not followed its confirmation mail yet.
    return c.json(
      {
        needsEmailVerification: true,
        invalidCredentials: false,
        message: "The e-mail address of this account has not been confirmed yet",
      },
      403,
    );
  }
  if (!signedIn) {
    // Quay's answer to bad credentials.
    return c.json(
      { needsEmailVerification: false, invalidCredentials: true, message: "Invalid username or password" },
      403,
    );
  }
  setCookie(c, SESSION_COOKIE, signedIn.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return c.json({ success: true });
});

documented("POST", "/signout", { operationId: "logout", summary: "Signs the browser out.", scope: null });
signinRoutes.post("/signout", async (c) => {
  const caller = c.var.caller;
  if (caller.kind === "user" && caller.via === "session")
    await signOut(c.var.db, caller.session, caller.user, requestEvents(c));
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
  return c.json({ success: true });
});

/** `GET /csrf_token`: the signed-in session's token, for the X-CSRF-Token header. */
export function csrfTokenRoute(c: Context<AppEnv>) {
  const caller = c.var.caller;
  callerWith(caller, "user:read");
  if (caller.kind !== "user" || caller.via !== "session")
    throw new ApiError("invalid_token", "Requires a signed-in session");
  return c.json({ csrf_token: caller.session.csrfToken });
}
