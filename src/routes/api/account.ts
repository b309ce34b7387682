/**
 * An account's own life (Quay `endpoints/api/user.py`): signing up, deleting oneself, becoming an
 * organization, password recovery, proving the password again, and the client key.
 */
import { Hono, type Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { callerWith, requireFreshLogin, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { deleteOwnAccount, generateClientKey, signUp } from "../../identity/account-life";
import { convertToOrganization } from "../../identity/account-conversion";
import { requestRecovery } from "../../identity/account-mail";
import { mailerFor } from "../../mail/quay-mails";
import { confirmPassword } from "../../identity/credentials";
import { LoginGuard } from "../../identity/login-limits";
import { refreshSession, SESSION_COOKIE, SESSION_TTL_MS } from "../../identity/sessions";
import { emailSchema, isSuperuser, ownUserView, passwordSchema, usernameSchema } from "../../identity/users";
import { clientAddressOf } from "../../lib/client-address";
import { cookieOptions } from "./signin";
import { documented } from "./openapi";
import { jsonBody } from "./validate";

export const accountRoutes = new Hono<AppEnv>();

/** The login limits a password check here counts against (./signin.ts does the same). */
const guardOf = (c: Context<AppEnv>) => new LoginGuard(c.env, clientAddressOf(c.req.raw));

const newUserBody = z.object({
  username: usernameSchema,
  password: passwordSchema,
  // Quay treats an empty email as none (`user_data.get("email")`), as forms send it.
  email: z.union([z.literal(""), emailSchema]).optional(),
  // Quay's invite code (`urn:teaminvite:<code>`): with mailing, the code of an invitation mailed to
  // `email` proves the address, so the account is verified and signed in at once.
  invite_code: z.string().max(1024).optional(),
  recaptcha_response: z.string().max(4096).optional(),
});

documented("POST", "/user", {
  operationId: "createNewUser",
  summary: "Creates an account (FEATURE_USER_CREATION) and signs it in.",
  scope: null,
  body: newUserBody,
});
/**
 * Quay's `createNewUser`: absent (404) without FEATURE_USER_CREATION, as Quay's `@show_if`. With
 * mailing off the new user is verified and signed in at once (session cookie) and gets Quay's
 * user view; with mailing on, Quay's `{"awaiting_verification": true}` and a confirmation mail.
 */
accountRoutes.post("/user", async (c) => {
  const config = readConfig(c.env);
  if (!config.FEATURE_USER_CREATION) throw notFound();
  const body = await jsonBody(c, newUserBody);
  const input = {
    username: body.username,
    password: body.password,
    email: body.email || null,
    inviteCode: body.invite_code,
  };
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  const options = { mailer, superuserName: isSuperuser(config, input.username) };
  const created = await signUp(c.var.db, input, options, guardOf(c), requestEvents(c));
  if (created.awaitingVerification) return c.json({ awaiting_verification: true });
  setCookie(c, SESSION_COOKIE, created.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return c.json(await ownUserView(config, created.user, []));
});

documented("DELETE", "/user", {
  operationId: "deleteCurrentUser",
  summary: "Deletes the signed-in user (a fresh login for a browser session).",
  scope: "user:admin",
  status: 204,
});
accountRoutes.delete("/user", requireScope("user:admin"), requireFreshLogin(), async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const superuser = isSuperuser(readConfig(c.env), user.username);
  await deleteOwnAccount(c.var.db, c.env, user, superuser, requestEvents(c));
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
  return c.body(null, 204);
});

const convertBody = z.object({
  adminUser: z.string().min(1).max(255),
  adminPassword: z.string().min(1).max(1024),
  // Quay's billing plan; Wharf has no billing, so any plan is taken and ignored.
  plan: z.string().max(255).optional(),
});

documented("POST", "/user/convert", {
  operationId: "convertUserToOrganization",
  summary: "Turns the signed-in user into an organization administered by adminUser.",
  scope: "user:admin",
  body: convertBody,
});
/**
 * Quay answers `conduct_signin` of the admin: `{"success": true}` and the admin's session cookie.
 * Beyond Quay, a fresh login, as for deleting the account: the password asked for is the new
 * admin's, so without it a stale or stolen session could hand the account to anyone.
 */
accountRoutes.post("/user/convert", requireScope("user:admin"), requireFreshLogin(), async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const body = await jsonBody(c, convertBody);
  const admin = { username: body.adminUser, password: body.adminPassword };
  const converted = await convertToOrganization(c.var.db, user, admin, guardOf(c), requestEvents(c));
  setCookie(c, SESSION_COOKIE, converted.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return c.json({ success: true });
});

const recoveryBody = z.object({
  email: emailSchema,
  // Quay's recaptcha; Wharf counts requests against the address's sign-up budget instead.
  recaptcha_response: z.string().max(4096).optional(),
});

documented("POST", "/recovery", {
  operationId: "requestRecoveryEmail",
  summary: "Mails a password recovery link (FEATURE_MAILING; absent without it).",
  scope: null,
  body: recoveryBody,
});
/**
 * Quay registers this only with FEATURE_MAILING (`@show_if`): without mail it does not exist (404).
 * Anyone may ask, so, beyond Quay, every request counts against the client address's sign-up
 * budget (429 once spent): a stranger cannot make Wharf mail an address without end.
 */
accountRoutes.post("/recovery", async (c) => {
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  if (!mailer) throw notFound();
  const body = await jsonBody(c, recoveryBody);
  await guardOf(c).countSignUp();
  const lifetime = readConfig(c.env).USER_RECOVERY_TOKEN_LIFETIME;
  return c.json(await requestRecovery(c.var.db, mailer, body.email, lifetime, requestEvents(c)));
});

const passwordBody = z.object({ password: z.string().min(1).max(1024) });

documented("POST", "/signin/verify", {
  operationId: "verifyUser",
  summary: "Proves the signed-in user's password again, making the session's login fresh.",
  scope: "user:admin",
  body: passwordBody,
});
/**
 * Quay's `verifyUser`: the password checked within the login limits; a browser session's login
 * becomes fresh again (Quay's `common_login`). A wrong password is Quay's bare 403.
 */
accountRoutes.post("/signin/verify", requireScope("user:admin"), async (c) => {
  const caller = c.var.caller;
  const user = callerWith(caller, "user:admin");
  const { password } = await jsonBody(c, passwordBody);
  if (!(await confirmPassword(c.var.db, user.username, password, guardOf(c))))
    return c.json({ message: "Invalid Username or Password", invalidCredentials: true }, 403);
  if (caller.kind === "user" && caller.via === "session") await refreshSession(c.var.db, caller.session);
  return c.json({ success: true });
});

documented("POST", "/user/clientkey", {
  operationId: "generateUserClientKey",
  summary: "The user's encrypted password, for registry clients in place of the password.",
  scope: "user:admin",
  body: passwordBody,
});
accountRoutes.post("/user/clientkey", requireScope("user:admin"), async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const { password } = await jsonBody(c, passwordBody);
  return c.json({ key: await generateClientKey(c.var.db, c.env, user, password, guardOf(c), requestEvents(c)) });
});
