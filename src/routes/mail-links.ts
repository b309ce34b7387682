/**
 * The links Quay's mails carry, which a browser follows (Quay's `endpoints/web.py`, both
 * `@route_show_if(FEATURE_MAILING)`: 404 without): `GET /confirm?code=` confirms an address and
 * `GET /recovery?code=` recovers an account. Each signs the browser in and redirects where Quay
 * does (the recovery to the account's settings, to choose a password). A bad code answers
 * `{"error": …}` (the `plain` surface, src/routes/surfaces.ts).
 */
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { notFound } from "../errors/domain";
import { confirmEmail, recoverAccount } from "../identity/account-mail";
import { SESSION_COOKIE, SESSION_TTL_MS } from "../identity/sessions";
import { mailerFor } from "../mail/quay-mails";
import { requestEvents } from "../middleware/event-scope";
import { cookieOptions } from "./api/signin";
import { parseOrInvalid } from "./api/validate";
import type { AppEnv } from "./app-env";

export const mailLinkRoutes = new Hono<AppEnv>();

const codeParam = z.string().min(1).max(256);
const ANONYMOUS = { kind: "anonymous" } as const;

mailLinkRoutes.get("/confirm", async (c) => {
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  if (!mailer) throw notFound();
  const code = parseOrInvalid(codeParam, c.req.query("code"));
  const followed = await confirmEmail(c.var.db, mailer, code, requestEvents(c, ANONYMOUS));
  setCookie(c, SESSION_COOKIE, followed.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  const to = followed.newEmail ? `/user/${followed.user.username}?tab=settings` : "/";
  return c.redirect(to, 302);
});

mailLinkRoutes.get("/recovery", async (c) => {
  if (!mailerFor(c.env, c.var.publicOrigin.origin)) throw notFound();
  const code = parseOrInvalid(codeParam, c.req.query("code"));
  const followed = await recoverAccount(c.var.db, code, requestEvents(c, ANONYMOUS));
  setCookie(c, SESSION_COOKIE, followed.cookie, { ...cookieOptions(c), maxAge: SESSION_TTL_MS / 1000 });
  return c.redirect(`/user/${followed.user.username}?tab=settings&action=password`, 302);
});
