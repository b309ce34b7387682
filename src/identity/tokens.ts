/**
 * Bearer tokens for /api/v1 (OAuth access tokens and application tokens). A token is 40 random
 * letters and digits, as Quay's; the database keeps only its SHA-256, so lookups stay one indexed
 * query and a leaked table grants nothing.
 */
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { accessTokens, type OAuthApplication, users, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { sha256Hex } from "../lib/encoding";
import { accountRef, commitWithEvents, namespaceEvent } from "./account-events";
import { randomString } from "./passwords";
import { parseScopes, type Scope } from "./scopes";
import { clock } from "../lib/clock";

const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const TOKEN_LENGTH = 40;

export function generateToken(): string {
  return randomString(TOKEN_ALPHABET, TOKEN_LENGTH);
}

export interface NewToken {
  kind: "oauth" | "app";
  userId: number;
  scopes: readonly Scope[];
  applicationId?: number | null;
  title?: string | null;
  expiresAt?: number | null;
  uuid?: string | null;
  /** Seals the plain token for showing it again (application tokens, as Quay does). */
  seal?: (plain: string) => Promise<string>;
}

/**
 * A new token's plain-text copy and the statement storing it, for a batch that also writes the
 * token's event (./app-tokens.ts, {@link issueOAuthToken}).
 */
export async function prepareToken(db: Db, token: NewToken): Promise<{ plain: string; insert: Statement }> {
  const plain = generateToken();
  const insert = db.insert(accessTokens).values({
    // OAuth tokens get a public id too, as Quay's OAuthAccessToken.uuid: users list and revoke
    // their authorizations by it (`GET|DELETE /api/v1/user/authorizations/{uuid}`), an
    // organization's admins the tokens of its applications (./organization-app-tokens.ts).
    uuid: token.uuid ?? (token.kind === "oauth" ? crypto.randomUUID() : null),
    sealedCode: token.seal ? await token.seal(plain) : null,
    tokenHash: await sha256Hex(plain),
    kind: token.kind,
    userId: token.userId,
    scopes: token.scopes.join(" "),
    applicationId: token.applicationId ?? null,
    title: token.title ?? null,
    expiresAt: token.expiresAt ?? null,
  });
  return { plain, insert };
}

/**
 * Stores a new token without an event and returns its plain-text copy: for tests' fixtures. The
 * registry's own tokens are made by {@link issueOAuthToken} and ./app-tokens.ts, with their events.
 */
export async function issueToken(db: Db, token: NewToken): Promise<string> {
  const { plain, insert } = await prepareToken(db, token);
  await insert;
  return plain;
}

/**
 * Mints an OAuth token for `user` (of `application`, when an application's authorization asked for
 * it; none at first start), with its `create_oauth_api_token` event in the user's namespace: the
 * token is the user's credential, whichever application holds it.
 */
export async function issueOAuthToken(
  db: Db,
  user: User,
  grant: {
    scopes: readonly Scope[];
    application: OAuthApplication | null;
    expiresAt?: number;
    /** Writes that belong to the same change (an assigned authorization it answers). */
    also?: Statement[];
  },
  events: EventScope,
): Promise<string> {
  const { plain, insert } = await prepareToken(db, {
    kind: "oauth",
    userId: user.id,
    scopes: grant.scopes,
    applicationId: grant.application?.id ?? null,
    expiresAt: grant.expiresAt ?? null,
  });
  const { application } = grant;
  const event = namespaceEvent("create_oauth_api_token", user.username, events.origin, {
    user: accountRef(user),
    application: application ? { clientId: application.clientId, name: application.name } : null,
    scope: grant.scopes.join(" "),
  });
  await commitWithEvents(db, events, [insert, ...(grant.also ?? [])], [event]);
  return plain;
}

export interface TokenHolder {
  user: User;
  scopes: Scope[];
  tokenId: number;
  kind: "oauth" | "app";
}

/** The enabled user and scopes behind `plain`, or null for an unknown, expired or disabled one. */
export async function resolveToken(db: Db, plain: string, now = clock.now()): Promise<TokenHolder | null> {
  if (plain.length !== TOKEN_LENGTH || !/^[A-Za-z0-9]+$/.test(plain)) return null;
  const row = await db
    .select({ token: accessTokens, user: users })
    .from(accessTokens)
    .innerJoin(users, eq(users.id, accessTokens.userId))
    .where(
      and(
        eq(accessTokens.tokenHash, await sha256Hex(plain)),
        or(isNull(accessTokens.expiresAt), gt(accessTokens.expiresAt, now)),
      ),
    )
    .get();
  if (!row?.user.enabled || row.user.kind !== "user") return null;
  const scopes = parseScopes(row.token.scopes);
  if (!scopes) return null;
  return { user: row.user, scopes, tokenId: row.token.id, kind: row.token.kind };
}

/**
 * The statement recording a use (Quay's `last_accessed` of application tokens), for the batch of
 * the login that used it (./credentials.ts).
 */
export function tokenUse(db: Db, tokenId: number, now = clock.now()): Statement {
  return db.update(accessTokens).set({ lastAccessedAt: now }).where(eq(accessTokens.id, tokenId));
}
