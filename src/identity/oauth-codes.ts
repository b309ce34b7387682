/**
 * Quay's authorization-code grant (`data/model/oauth.py` `persist_authorization_code`,
 * `from_authorization_code`, `discard_authorization_code`; oauth2lib's `get_token`): a user's
 * approval gives the application a one-time code, which its server exchanges with its client
 * secret for an access token at `POST /oauth/access_token`.
 *
 * Stricter than Quay where RFC 6749 asks: a code lives ten minutes (§4.1.2), is bound to the
 * redirect URI it was sent to (§4.1.3), and a second use fails and revokes the token the first
 * issued (§4.1.2: the code may have leaked to whoever replays it).
 */
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  accessTokens,
  oauthApplications,
  oauthAuthorizationCodes,
  users,
  type OAuthApplication,
  type User,
} from "../db/schema";
import type { EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";
import { accountRef, conditionalEvent, namespaceEvent, written } from "./account-events";
import { sameSecret } from "../lib/constant-time";
import { parseScopes, type Scope } from "./scopes";
import { decryptSecret } from "./secrets";
import { generateToken, prepareToken } from "./tokens";

/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED." */
export const CODE_LIFETIME_MS = 10 * 60 * 1000;

type CodeRow = typeof oauthAuthorizationCodes.$inferSelect;

/**
 * A new code for `user` approving `app` with `scopes`, to be sent to `redirectUri` (already
 * checked against the application's). Codes expired by now are swept in the same batch: nothing
 * else reads them.
 */
export async function issueAuthorizationCode(
  db: Db,
  user: User,
  app: OAuthApplication,
  grant: { redirectUri: string; scopes: readonly Scope[] },
): Promise<string> {
  const code = generateToken();
  const now = clock.now();
  await db.batch([
    db.delete(oauthAuthorizationCodes).where(lt(oauthAuthorizationCodes.expiresAt, now)),
    db.insert(oauthAuthorizationCodes).values({
      codeHash: await sha256Hex(code),
      applicationId: app.id,
      userId: user.id,
      redirectUri: grant.redirectUri,
      scopes: grant.scopes.join(" "),
      createdAt: now,
      expiresAt: now + CODE_LIFETIME_MS,
    }),
  ]);
  return code;
}

/** RFC 6749 §5.2's refusals an exchange of a code can end with. */
export type CodeRefusal = { error: "invalid_grant" | "invalid_scope"; description: string };
export type Exchanged = { token: string; scopes: Scope[] } | CodeRefusal;

const refuse = (error: CodeRefusal["error"], description: string): CodeRefusal => ({ error, description });

/**
 * Exchanges `code`, issued to `app`, for an access token of `lifetimeMs`. `redirectUri` is the
 * one the exchange names, as `allowedRedirectUri` parsed it (null when it is none the application
 * may use); it must be the one the code went to. `scope`, when the client sends one (Quay's
 * clients do), must be the code's.
 */
export async function exchangeAuthorizationCode(
  db: Db,
  app: OAuthApplication,
  exchange: { code: string; redirectUri: string | null; scope?: string; lifetimeMs: number },
  eventsOf: (user: User) => EventScope,
): Promise<Exchanged> {
  const found = await db
    .select({ code: oauthAuthorizationCodes, user: users })
    .from(oauthAuthorizationCodes)
    .innerJoin(users, eq(users.id, oauthAuthorizationCodes.userId))
    .where(
      and(
        eq(oauthAuthorizationCodes.codeHash, await sha256Hex(exchange.code)),
        eq(oauthAuthorizationCodes.applicationId, app.id),
      ),
    )
    .get();
  if (!found) return refuse("invalid_grant", "Invalid authorization code");
  const { code, user } = found;
  const events = eventsOf(user);
  if (code.usedAt !== null) return replayed(db, app, code, user, events);
  if (code.expiresAt <= clock.now()) return refuse("invalid_grant", "The authorization code has expired");
  if (exchange.redirectUri !== code.redirectUri)
    return refuse("invalid_grant", "redirect_uri is not the one the authorization code was issued to");
  const scopes = parseScopes(code.scopes)!;
  if (exchange.scope !== undefined && !sameScopes(exchange.scope, scopes))
    return refuse("invalid_scope", "scope is not the one the authorization code was issued for");
  if (user.kind !== "user" || !user.enabled || user.deletingSince !== null)
    return refuse("invalid_grant", "The authorizing user can no longer sign in");

  const uuid = crypto.randomUUID();
  const expiresAt = clock.now() + exchange.lifetimeMs;
  const { plain, insert } = await prepareToken(db, {
    kind: "oauth",
    userId: user.id,
    scopes,
    applicationId: app.id,
    expiresAt,
    uuid,
  });
  const event = namespaceEvent("create_oauth_api_token", user.username, events.origin, {
    user: accountRef(user),
    application: { clientId: app.clientId, name: app.name },
    scope: code.scopes,
  });
  const claimedHere = sql`exists (select 1 from ${oauthAuthorizationCodes} where id = ${code.id} and token_uuid = ${uuid})`;
  // One transaction: the code is claimed only if no exchange claimed it first; the token and its
  // event are kept only where this exchange holds the claim.
  const [claim, row] = await db.batch([
    db
      .update(oauthAuthorizationCodes)
      .set({ usedAt: clock.now(), tokenUuid: uuid })
      .where(and(eq(oauthAuthorizationCodes.id, code.id), isNull(oauthAuthorizationCodes.usedAt)))
      .returning({ id: oauthAuthorizationCodes.id }),
    conditionalEvent(db, event, claimedHere),
    insert,
    db.delete(accessTokens).where(and(eq(accessTokens.uuid, uuid), sql`not ${claimedHere}`)),
  ]);
  if (!written(claim)) {
    const now = await db.select().from(oauthAuthorizationCodes).where(eq(oauthAuthorizationCodes.id, code.id)).get();
    return now ? replayed(db, app, now, user, events) : refuse("invalid_grant", "Invalid authorization code");
  }
  if (written(row)) events.publish([event]);
  return { token: plain, scopes };
}

function sameScopes(text: string, scopes: readonly Scope[]): boolean {
  const asked = parseScopes(text);
  return !!asked && asked.length === scopes.length && asked.every((s) => scopes.includes(s));
}

/**
 * A code presented again: refused, and the token its first exchange issued is revoked (with
 * `revoke_oauth_api_token`, as a user's own revocation), since one of the two presenters is not
 * the application.
 */
async function replayed(
  db: Db,
  app: OAuthApplication,
  code: CodeRow,
  user: User,
  events: EventScope,
): Promise<CodeRefusal> {
  if (code.tokenUuid) {
    const event = namespaceEvent("revoke_oauth_api_token", user.username, events.origin, {
      application: { clientId: app.clientId, name: app.name },
      uuid: code.tokenUuid,
      scope: code.scopes,
    });
    const [row] = await db.batch([
      conditionalEvent(db, event, sql`exists (select 1 from ${accessTokens} where uuid = ${code.tokenUuid})`),
      db.delete(accessTokens).where(eq(accessTokens.uuid, code.tokenUuid)),
    ]);
    if (written(row)) events.publish([event]);
  }
  return refuse("invalid_grant", "The authorization code was already used");
}

/**
 * Quay's `validate_has_scopes`: whether `user`'s live tokens of `app` together hold every scope of
 * `scopes` (as a set, as Quay's `is_subset_string`), so asking again needs no new consent.
 */
export async function hasAuthorized(db: Db, user: User, app: OAuthApplication, scopes: readonly Scope[]) {
  const rows = await db
    .select({ scopes: accessTokens.scopes })
    .from(accessTokens)
    .where(
      and(
        eq(accessTokens.userId, user.id),
        eq(accessTokens.applicationId, app.id),
        eq(accessTokens.kind, "oauth"),
        sql`(${accessTokens.expiresAt} is null or ${accessTokens.expiresAt} > ${clock.now()})`,
      ),
    )
    .all();
  const held = new Set(rows.flatMap((r) => parseScopes(r.scopes) ?? []));
  return scopes.every((s) => held.has(s));
}

/**
 * Quay's `validate_client_secret`: whether `presented` is `app`'s secret, compared in constant
 * time. A secret sealed under another WHARF_SECRET_KEY matches nothing.
 */
export async function clientSecretMatches(
  env: { WHARF_SECRET_KEY?: string },
  app: OAuthApplication,
  presented: string,
): Promise<boolean> {
  const secret = await decryptSecret(env, app.sealedClientSecret);
  return secret !== null && presented !== "" && (await sameSecret(presented, secret));
}

/**
 * The application `clientId` with its organization, for a user to authorize (none while its
 * organization is being deleted, as `GET /api/v1/app/{client_id}`).
 */
export async function findAuthorizableApplication(db: Db, clientId: string) {
  return db
    .select({ app: oauthApplications, organization: users })
    .from(oauthApplications)
    .innerJoin(users, eq(users.id, oauthApplications.organizationId))
    .where(and(eq(oauthApplications.clientId, clientId), isNull(users.deletingSince)))
    .get();
}
