/**
 * Tokens of an organization's OAuth application (Quay `endpoints/api/organization_application_tokens.py`,
 * `data/model/oauth.py` `create_oauth_api_token`): an admin of the organization mints, for
 * themselves, an OAuth access token of one of its applications with the scopes they choose, without
 * the authorization dance. The token is the admin's credential: it acts as them, within its scopes,
 * on /api/v1 (`Authorization: Bearer`) and on the registry (`$oauthtoken`), as every OAuth token
 * does (./tokens.ts). Only its SHA-256 is kept; its value is shown once, in the creation's answer.
 * The application's admins list every token it holds (minted here or by users authorizing it) and
 * revoke any by its uuid.
 */
import { and, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, type AccessToken, type OAuthApplication, users, type User } from "../db/schema";
import { DomainError, modelError } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { accountRef, commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { parseScopes, type Scope } from "./scopes";
import { prepareToken } from "./tokens";

/** Quay's MAX_TOKENS_PER_APPLICATION: unexpired tokens an application may hold. */
export const MAX_TOKENS_PER_APPLICATION = 1000;
/** Quay's DEFAULT_TOKEN_EXPIRATION_SECONDS: ten years (of 365.25 days). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 315_576_000;
/** Tokens per page of the listing (Quay's `paginate` default). */
export const TOKENS_PER_PAGE = 50;

const application = (app: OAuthApplication) => ({ clientId: app.clientId, name: app.name });

/**
 * Quay's `normalize_scope` and `validate_scope_string`: a space- or comma-separated list of known
 * scopes, repeats dropped; anything else is refused with Quay's message.
 */
export function normalizeScopes(text: string): Scope[] {
  const scopes = parseScopes(text);
  if (!scopes) throw modelError(`Invalid scope: ${text}`);
  return scopes;
}

/**
 * Mints a token of `app` (of organization `org`) for `creator`, valid `expirationS` seconds, with
 * its `create_oauth_api_token` event in the organization. Refused once the application holds
 * {@link MAX_TOKENS_PER_APPLICATION} unexpired tokens (Quay's message); the count and the insert are
 * two steps, so concurrent creations may pass the limit by their number, where Quay takes a lock.
 *
 * Only a person holds one. A robot administering the organization (its Management-API token,
 * ./robot-tokens.ts) is refused rather than given a ten-year OAuth token: those act only as people
 * (./tokens.ts `resolveToken`), so it would be a live-looking credential nothing accepts, and the
 * day that rule loosened it would outlive the robot's token (at most 90 days, revocable).
 */
export async function createApplicationToken(
  db: Db,
  org: User,
  app: OAuthApplication,
  creator: User,
  grant: { scopes: readonly Scope[]; expirationS: number },
  events: EventScope,
): Promise<{ token: AccessToken; plain: string }> {
  if (creator.kind !== "user")
    throw new DomainError("denied", { message: "Only a person can hold a token of an application" });
  const now = clock.now();
  const active = await db
    .select({ n: sql<number>`count(*)` })
    .from(accessTokens)
    .where(
      and(eq(accessTokens.applicationId, app.id), or(isNull(accessTokens.expiresAt), gt(accessTokens.expiresAt, now))),
    )
    .get();
  if ((active?.n ?? 0) >= MAX_TOKENS_PER_APPLICATION)
    throw modelError(`Token limit reached: maximum ${MAX_TOKENS_PER_APPLICATION} non-expired tokens per application`);
  const uuid = crypto.randomUUID();
  const { plain, insert } = await prepareToken(db, {
    kind: "oauth",
    userId: creator.id,
    scopes: grant.scopes,
    applicationId: app.id,
    expiresAt: now + grant.expirationS * 1000,
    uuid,
  });
  const event = namespaceEvent("create_oauth_api_token", org.username, events.origin, {
    user: accountRef(creator),
    application: application(app),
    scope: grant.scopes.join(" "),
  });
  await commitWithEvents(db, events, [insert], [event]);
  const token = await db.select().from(accessTokens).where(eq(accessTokens.uuid, uuid)).get();
  return { token: token!, plain };
}

export interface ListedToken {
  token: AccessToken;
  /** The user the token acts as. */
  username: string;
}

/** One page of `app`'s tokens, newest first, after token id `before` (exclusive) when given. */
export async function listApplicationTokens(db: Db, app: OAuthApplication, before?: number): Promise<ListedToken[]> {
  return db
    .select({ token: accessTokens, username: users.username })
    .from(accessTokens)
    .innerJoin(users, eq(users.id, accessTokens.userId))
    .where(and(eq(accessTokens.applicationId, app.id), before === undefined ? undefined : lt(accessTokens.id, before)))
    .orderBy(desc(accessTokens.id))
    .limit(TOKENS_PER_PAGE)
    .all();
}

/**
 * Revokes `app`'s token `uuid`, with its `revoke_oauth_api_token` event in the organization; false
 * when the application holds no such token.
 */
export async function revokeApplicationToken(
  db: Db,
  org: User,
  app: OAuthApplication,
  uuid: string,
  events: EventScope,
): Promise<boolean> {
  const match = and(
    eq(accessTokens.applicationId, app.id),
    eq(accessTokens.uuid, uuid),
    eq(accessTokens.kind, "oauth"),
  );
  // The event names the token's scope, as the user's own revocation does (oauth-authorizations.ts).
  const [token] = await db.select({ scopes: accessTokens.scopes }).from(accessTokens).where(match).limit(1);
  if (!token) return false;
  const event = namespaceEvent("revoke_oauth_api_token", org.username, events.origin, {
    application: application(app),
    uuid,
    scope: token.scopes,
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${accessTokens} where ${match})`),
    db.delete(accessTokens).where(match),
  ]);
  if (!written(row)) return false;
  events.publish([event]);
  return true;
}

/** Quay's ISO dates here (`isoformat() + "Z"`), unlike the RFC 2822 dates of its other token views. */
const isoDate = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Quay's `token_view`: `token` (the value) only in the creation's answer. `created_by` is the
 * user the token acts as, who for a token minted here is its creator.
 */
export function applicationTokenView(listed: ListedToken, plain?: string) {
  const { token } = listed;
  return {
    uuid: token.uuid,
    scope: token.scopes,
    expires_at: isoDate(token.expiresAt),
    created: isoDate(token.createdAt),
    created_by: listed.username,
    last_accessed: isoDate(token.lastAccessedAt),
    ...(plain === undefined ? {} : { token: plain }),
  };
}
