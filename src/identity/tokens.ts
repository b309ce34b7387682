/**
 * Bearer tokens for /api/v1 (OAuth access tokens and application tokens). A token is 40 random
 * letters and digits, as Quay's; the database keeps only its SHA-256, so lookups stay one indexed
 * query and a leaked table grants nothing.
 */
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, users, type User } from "../db/schema";
import { sha256Hex } from "../lib/encoding";
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

/** Stores a new token and returns its plain-text copy, for the caller to hand out. */
export async function issueToken(db: Db, token: NewToken): Promise<string> {
  const plain = generateToken();
  await db.insert(accessTokens).values({
    uuid: token.uuid ?? null,
    sealedCode: token.seal ? await token.seal(plain) : null,
    tokenHash: await sha256Hex(plain),
    kind: token.kind,
    userId: token.userId,
    scopes: token.scopes.join(" "),
    applicationId: token.applicationId ?? null,
    title: token.title ?? null,
    expiresAt: token.expiresAt ?? null,
  });
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

/** Records a use (Quay's `last_accessed` of application tokens). */
export async function touchToken(db: Db, tokenId: number, now = clock.now()): Promise<void> {
  await db.update(accessTokens).set({ lastAccessedAt: now }).where(eq(accessTokens.id, tokenId));
}
