/**
 * Browser sessions, as Quay's UI signs in: a random session id in an HttpOnly cookie (only its
 * SHA-256 stored), a CSRF token per session that state-changing calls must echo in X-CSRF-Token.
 */
import { and, eq, gt, ne } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { sessions, users, type Session, type User } from "../db/schema";
import { base64url, sha256Hex } from "../lib/encoding";
import { sameString } from "../lib/constant-time";
import { clock } from "../lib/clock";

export const SESSION_COOKIE = "wharf_session";
/** Two weeks, then sign in again. */
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

const randomId = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)));

/**
 * A new session for `user`: the cookie value (its only plain copy), the CSRF token, and the
 * statement storing it, for the batch of the sign-in that starts it (./sign-in.ts).
 */
export async function newSession(
  db: Db,
  user: User,
  now = clock.now(),
): Promise<{ cookie: string; csrfToken: string; insert: Statement }> {
  const cookie = randomId();
  const csrfToken = randomId();
  const insert = db.insert(sessions).values({
    idHash: await sha256Hex(cookie),
    userId: user.id,
    csrfToken,
    expiresAt: now + SESSION_TTL_MS,
    authenticatedAt: now,
  });
  return { cookie, csrfToken, insert };
}

/** The live session behind a cookie value and its enabled user, or null. */
export async function findSession(
  db: Db,
  cookie: string,
  now = clock.now(),
): Promise<{ session: Session; user: User } | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return null;
  const row = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, await sha256Hex(cookie)), gt(sessions.expiresAt, now)))
    .get();
  return row?.user.enabled ? row : null;
}

/**
 * The statement ending every session of `userId` but `keepId` (the one making a change), for a
 * password change: Quay rotates the user's uuid then, which signs every older session out.
 */
export function endOtherSessions(db: Db, userId: number, keepId: number | null) {
  return db
    .delete(sessions)
    .where(keepId === null ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.id, keepId)));
}

/** Whether `presented` is the session's CSRF token, compared in constant time. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  return sameString(presented, session.csrfToken);
}

/**
 * Whether `session` proved its user's password within `timeoutMs` (Quay's `@require_fresh_login`:
 * the session's `login_time` within FRESH_LOGIN_TIMEOUT).
 */
export function isFreshSession(session: Session, timeoutMs: number, now = clock.now()): boolean {
  return now - (session.authenticatedAt ?? session.createdAt) <= timeoutMs;
}

/** The statement marking `session` as having proven its password now (Quay's `common_login` after a verify). */
export function refreshSession(db: Db, session: Session, now = clock.now()): Statement {
  return db.update(sessions).set({ authenticatedAt: now }).where(eq(sessions.id, session.id));
}
