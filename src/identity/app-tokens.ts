/**
 * Application-specific tokens (Quay's `/api/v1/user/apptoken`): named credentials a user makes
 * for registry clients (`podman login -u <user> -p <token>`, or `$app`), revocable one by one.
 * Quay shows a token's code again on request, so the code is kept sealed (AES-GCM) besides the
 * SHA-256 that lookups use.
 */
import { and, desc, eq, gt, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, type AccessToken, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { decryptSecret, encryptSecret } from "./secrets";
import { ALL_SCOPES } from "./scopes";
import { prepareToken } from "./tokens";
import { clock } from "../lib/clock";

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** What an application token may do: what its owner may, minus superuser powers. */
const APP_TOKEN_SCOPES = ALL_SCOPES.filter((scope) => scope !== "super:user");

export async function createAppToken(
  db: Db,
  env: SecretEnv,
  user: User,
  title: string,
  events: EventScope,
): Promise<{ token: AccessToken; code: string }> {
  const uuid = crypto.randomUUID();
  const { plain, insert } = await prepareToken(db, {
    kind: "app",
    userId: user.id,
    scopes: APP_TOKEN_SCOPES,
    title,
    uuid,
    seal: (plain) => encryptSecret(env, plain),
  });
  const event = namespaceEvent("create_app_specific_token", user.username, events.origin, { token: { uuid, title } });
  await commitWithEvents(db, events, [insert], [event]);
  return { token: (await findAppToken(db, user, uuid))!, code: plain };
}

export async function listAppTokens(db: Db, user: User): Promise<AccessToken[]> {
  return db
    .select()
    .from(accessTokens)
    .where(and(eq(accessTokens.userId, user.id), eq(accessTokens.kind, "app")))
    .orderBy(desc(accessTokens.createdAt), desc(accessTokens.id))
    .all();
}

/**
 * Every user's application tokens (the superuser's `listAllAppTokens`), newest first; with
 * `expiringBefore`, only those whose expiration falls between now and then (Quay's
 * `get_all_expiring_tokens`: an expired token is not "expiring").
 */
export async function listAllAppTokens(db: Db, expiringBefore?: number): Promise<AccessToken[]> {
  const now = clock.now();
  return db
    .select()
    .from(accessTokens)
    .where(
      and(
        eq(accessTokens.kind, "app"),
        expiringBefore === undefined
          ? undefined
          : and(gt(accessTokens.expiresAt, now), lte(accessTokens.expiresAt, expiringBefore)),
      ),
    )
    .orderBy(desc(accessTokens.createdAt), desc(accessTokens.id))
    .all();
}

export async function findAppToken(db: Db, user: User, uuid: string): Promise<AccessToken | undefined> {
  return db
    .select()
    .from(accessTokens)
    .where(and(eq(accessTokens.userId, user.id), eq(accessTokens.kind, "app"), eq(accessTokens.uuid, uuid)))
    .get();
}

/** Revokes `user`'s token, with its event (none when a concurrent revocation came first). */
export async function revokeAppToken(db: Db, user: User, token: AccessToken, events: EventScope): Promise<void> {
  const event = namespaceEvent("revoke_app_specific_token", user.username, events.origin, {
    token: { uuid: token.uuid ?? "", title: token.title ?? "" },
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${accessTokens} where id = ${token.id})`),
    db.delete(accessTokens).where(eq(accessTokens.id, token.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/** The token's code, unsealed, for showing it again. */
export async function appTokenCode(env: SecretEnv, token: AccessToken): Promise<string | null> {
  return token.sealedCode ? decryptSecret(env, token.sealedCode) : null;
}

/** Quay's dates in API answers: RFC 2822 in UTC, e.g. `Mon, 23 Nov 2026 16:38:24 -0000`. */
export function quayDate(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toUTCString().replace("GMT", "-0000");
}

/** Quay's application token JSON; `token_code` only when the caller is to see it. */
export function appTokenView(token: AccessToken, code?: string | null) {
  return {
    uuid: token.uuid,
    title: token.title,
    last_accessed: quayDate(token.lastAccessedAt),
    created: quayDate(token.createdAt),
    expiration: quayDate(token.expiresAt),
    ...(code === undefined ? {} : { token_code: code }),
  };
}
