/**
 * Browser sign-in and sign-out (Quay's `POST /api/v1/signin` and `/api/v1/signout`): a password
 * login that starts a session, in one batch with its `login_success` event (./logins.ts), and
 * the end of a session with `logout_success`.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { sessions, type Session, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, namespaceEvent, written } from "./account-events";
import { type BasicCredentials, proveBasic } from "./credentials";
import type { LoginGuard } from "./login-limits";
import { commitLogin, type LoginAudit } from "./logins";
import { newSession } from "./sessions";

type SecretEnv = { WHARF_SECRET_KEY?: string; WHARF_TOKEN_KEY?: string };

/**
 * Signs `credentials` in: only a password does (a token proven here is refused, and recorded as a
 * failure), and every success is recorded, whatever `audit` says. The session's cookie value and
 * CSRF token, null when refused, or `unverified` for the right password of an account whose
 * address is not confirmed yet (FEATURE_MAILING: Quay's `common_login` refuses it; recorded as a
 * refused login).
 */
export async function signIn(
  db: Db,
  env: SecretEnv,
  credentials: BasicCredentials,
  guard: LoginGuard,
  audit: LoginAudit,
): Promise<{ user: User; cookie: string; csrfToken: string } | "unverified" | null> {
  const proven = await proveBasic(db, env, credentials, guard);
  const unverified = proven?.via === "password" && !proven.user.verified;
  const session = proven?.via === "password" && !unverified ? await newSession(db, proven.user) : null;
  const who = await commitLogin(
    db,
    { ...audit, accepts: unverified ? [] : ["password"], recordSuccess: true },
    { username: credentials.username, proven, with: session ? [session.insert] : [] },
  );
  if (unverified) return "unverified";
  return who && session ? { user: who.user, cookie: session.cookie, csrfToken: session.csrfToken } : null;
}

/** Ends `session` of `user`, with `logout_success` (none when it had ended already). */
export async function signOut(db: Db, session: Session, user: User, events: EventScope): Promise<void> {
  const event = namespaceEvent("logout_success", user.username, events.origin, { surface: "signin" });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${sessions} where id = ${session.id})`),
    db.delete(sessions).where(eq(sessions.id, session.id)),
  ]);
  if (written(row)) events.publish([event]);
}
