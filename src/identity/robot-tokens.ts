/**
 * Management-API tokens of robots (Quay's `endpoints/api/robot_application_tokens.py` and
 * `data/model/api_token.py`): expiring bearer tokens for /api/v1 that act as the robot, made by
 * whoever administers the robot's namespace. Their scopes are bounded twice: at creation by what the
 * creator may mint, and at every use by what the robot itself may do (./permissions.ts decides per
 * repository and organization, as for any account). A token is `qro_` and 60 random letters and
 * digits, shown once; only its SHA-256 is kept, so a lookup is one indexed query.
 */
import { aliasedTable, and, desc, eq, gt, lt, sql } from "drizzle-orm";
import { modelError } from "../errors/domain";
import type { Db, Statement } from "../db/client";
import { type RobotApiToken, robotApiTokens, type User, users } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { sha256Hex } from "../lib/encoding";
import { clock } from "../lib/clock";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { randomString } from "./passwords";
import { type Robot, robotByName, robotNamespace, robotRef } from "./robots";
import { parseScopes, type Scope } from "./scopes";

export const ROBOT_API_TOKEN_PREFIX = "qro_";
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Quay's token: the prefix, a 20-character name and a 40-character code. */
const ROBOT_API_TOKEN_LENGTH = ROBOT_API_TOKEN_PREFIX.length + 20 + 40;
/** Quay's API_TOKEN_DEFAULT_EXPIRATION_SECONDS (30 days) and API_TOKEN_MAX_EXPIRATION_SECONDS (90 days). */
export const DEFAULT_EXPIRATION_S = 30 * 24 * 3600;
export const MAX_EXPIRATION_S = 90 * 24 * 3600;
export const MAX_TOKEN_NAME_LENGTH = 255;
/** Quay's page size for these lists. */
export const TOKENS_PAGE_SIZE = 50;

/**
 * Quay's scopes in the order of its `ALL_SCOPES`, which the mintable-scopes answer keeps (its
 * tests compare the list as a list).
 */
const QUAY_SCOPE_ORDER: readonly Scope[] = [
  "repo:read",
  "repo:write",
  "repo:admin",
  "repo:create",
  "user:read",
  "org:admin",
  "super:user",
  "user:admin",
];

/**
 * What a token can ever do as a robot: a robot has no account of its own to administer (no
 * password, email, application tokens, robots or organizations of its own) and is never a
 * superuser, so user:admin and super:user, which Quay lets a creator mint, grant a robot nothing.
 */
const ROBOT_USABLE_SCOPES: ReadonlySet<Scope> = new Set(
  QUAY_SCOPE_ORDER.filter((s) => s !== "user:admin" && s !== "super:user"),
);

/**
 * The scopes `creator` may put on a token of a robot of a namespace they administer (the routes
 * check that first). Quay asks one permission per scope (`_can_mint_scope`): the repository scopes,
 * repo:create and org:admin come with administering the namespace, user:read and user:admin are the
 * creator's own, and super:user needs a superuser.
 */
export function mintableScopes(creatorIsSuperuser: boolean): Scope[] {
  return QUAY_SCOPE_ORDER.filter((scope) => scope !== "super:user" || creatorIsSuperuser);
}

/** Quay's `normalize_scope`: commas or spaces between, each scope once, in the order given. */
export function normalizeScopeString(text: string): string {
  return [...new Set(text.replaceAll(",", " ").split(/\s+/).filter(Boolean))].join(" ");
}

export interface NewRobotApiToken {
  /** The display name, as given (trimmed here). */
  name: string;
  /** The scope string, as given. */
  scope: string;
  /** Seconds; Quay's default when absent. */
  expiration?: number;
}

/** The name, scopes and lifetime of a request, checked with Quay's messages (400, with Quay's `message`). */
export function checkNewToken(input: NewRobotApiToken, mintable: readonly Scope[]) {
  const name = input.name.trim();
  if (name === "") throw modelError("'name' cannot be empty");
  if (name.length > MAX_TOKEN_NAME_LENGTH) throw modelError("'name' is too long");
  const requested = input.expiration ?? DEFAULT_EXPIRATION_S;
  if (!Number.isFinite(requested) || requested <= 0)
    throw modelError("'expiration' must be a positive number of seconds");
  const expirationS = Math.min(Math.max(Math.trunc(requested), 1), MAX_EXPIRATION_S);
  const scope = normalizeScopeString(input.scope);
  const scopes = parseScopes(scope);
  if (!scopes) throw modelError(`Invalid scope: ${input.scope}`);
  // Quay: `raise Unauthorized()` (403) for a scope the creator may not mint.
  const unmintable = scopes.find((s) => !mintable.includes(s));
  return { name, scope, scopes, expirationS, unmintable };
}

/** Quay's "Token limit reached" refusal (API_TOKEN_MAXIMUM_TOKEN_COUNT live tokens per robot). */
export const tokenLimitReached = (limit: number) =>
  modelError(`Token limit reached: maximum ${limit} non-expired tokens per robot`);

/**
 * Stores a new token of `robot` made by `creator`, with its `create_robot_api_token` event, and
 * returns it with its value (shown this once). With `limit`, the count of the robot's live tokens
 * is checked in the same batch as the insert, so parallel requests cannot pass it together.
 */
export async function createRobotApiToken(
  db: Db,
  robot: Robot,
  creator: User,
  request: { name: string; scope: string; expirationS: number },
  limit: number | null,
  events: EventScope,
): Promise<{ token: RobotApiToken; value: string }> {
  const value =
    ROBOT_API_TOKEN_PREFIX + randomString(TOKEN_ALPHABET, ROBOT_API_TOKEN_LENGTH - ROBOT_API_TOKEN_PREFIX.length);
  const now = clock.now();
  const row = {
    uuid: crypto.randomUUID(),
    robotId: robot.user.id,
    creatorId: creator.id,
    name: request.name,
    scopes: request.scope,
    tokenHash: await sha256Hex(value),
    createdAt: now,
    expiresAt: now + request.expirationS * 1000,
  };
  const event = namespaceEvent("create_robot_api_token", robotNamespace(robot), events.origin, {
    robot: robotRef(robot),
    token: { uuid: row.uuid, name: row.name },
    scope: row.scopes,
    expiration: request.expirationS,
  });
  if (limit === null) {
    await commitWithEvents(db, events, [db.insert(robotApiTokens).values(row)], [event]);
  } else {
    // One batch, one transaction: the event is written only while the robot has fewer live
    // tokens than the limit, and the new row is taken back when it went over; so parallel requests
    // cannot pass the limit together, and a refusal leaves nothing behind.
    const live = sql`(select count(*) from ${robotApiTokens} where robot_id = ${row.robotId} and expires_at > ${now})`;
    const [eventRow] = await db.batch([
      conditionalEvent(db, event, sql`${live} < ${limit}`),
      db.insert(robotApiTokens).values(row),
      db.delete(robotApiTokens).where(and(eq(robotApiTokens.uuid, row.uuid), sql`${live} > ${limit}`)),
    ]);
    if (!written(eventRow)) throw tokenLimitReached(limit);
    events.publish([event]);
  }
  const token = await db.select().from(robotApiTokens).where(eq(robotApiTokens.uuid, row.uuid)).get();
  return { token: token!, value };
}

const creators = aliasedTable(users, "creators");

export interface ListedToken {
  token: RobotApiToken;
  createdBy: string | null;
}

/**
 * A page of the robot's tokens, newest first (Quay lists expired ones too, until revoked), and the
 * id to continue below, when more remain.
 */
export async function listRobotApiTokens(
  db: Db,
  robot: Robot,
  before?: number,
): Promise<{ tokens: ListedToken[]; next: number | null }> {
  const rows = await db
    .select({ token: robotApiTokens, createdBy: creators.username })
    .from(robotApiTokens)
    .leftJoin(creators, eq(creators.id, robotApiTokens.creatorId))
    .where(
      and(eq(robotApiTokens.robotId, robot.user.id), before === undefined ? undefined : lt(robotApiTokens.id, before)),
    )
    .orderBy(desc(robotApiTokens.id))
    .limit(TOKENS_PAGE_SIZE + 1)
    .all();
  const page = rows.slice(0, TOKENS_PAGE_SIZE);
  return { tokens: page, next: rows.length > TOKENS_PAGE_SIZE ? page.at(-1)!.token.id : null };
}

export async function findRobotApiToken(db: Db, robot: Robot, uuid: string): Promise<RobotApiToken | undefined> {
  return db
    .select()
    .from(robotApiTokens)
    .where(and(eq(robotApiTokens.robotId, robot.user.id), eq(robotApiTokens.uuid, uuid)))
    .get();
}

/** Revokes the token at once, with its event (none when a concurrent revocation came first). */
export async function deleteRobotApiToken(
  db: Db,
  robot: Robot,
  token: RobotApiToken,
  events: EventScope,
): Promise<void> {
  const event = namespaceEvent("revoke_robot_api_token", robotNamespace(robot), events.origin, {
    robot: robotRef(robot),
    token: { uuid: token.uuid, name: token.name },
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${robotApiTokens} where id = ${token.id})`),
    db.delete(robotApiTokens).where(eq(robotApiTokens.id, token.id)),
  ]);
  if (written(row)) events.publish([event]);
}

export interface RobotTokenHolder {
  robot: User;
  /** The token's scopes a robot can use (see ROBOT_USABLE_SCOPES). */
  scopes: Scope[];
  /** The statement recording the use (Quay's `last_accessed`), when one is due. */
  lastUse: Statement | null;
}

/**
 * The robot and usable scopes behind `plain`, or null: an unknown, expired or deleted token, or one
 * of a robot whose namespace is disabled or being deleted.
 */
export async function resolveRobotApiToken(db: Db, plain: string, now = clock.now()): Promise<RobotTokenHolder | null> {
  if (plain.length !== ROBOT_API_TOKEN_LENGTH || !plain.startsWith(ROBOT_API_TOKEN_PREFIX)) return null;
  const row = await db
    .select({ token: robotApiTokens, robotName: users.username })
    .from(robotApiTokens)
    .innerJoin(users, eq(users.id, robotApiTokens.robotId))
    .where(and(eq(robotApiTokens.tokenHash, await sha256Hex(plain)), gt(robotApiTokens.expiresAt, now)))
    .get();
  const robot = row ? await robotByName(db, row.robotName) : undefined;
  const scopes = row ? parseScopes(row.token.scopes) : null;
  if (!row || !robot || !scopes) return null;
  // Written at most once a minute, as a robot's own token's use is.
  const due = row.token.lastAccessedAt === null || now - row.token.lastAccessedAt > 60_000;
  return {
    robot: robot.user,
    scopes: scopes.filter((scope) => ROBOT_USABLE_SCOPES.has(scope)),
    lastUse: due
      ? db.update(robotApiTokens).set({ lastAccessedAt: now }).where(eq(robotApiTokens.id, row.token.id))
      : null,
  };
}

/** Quay's dates in these answers: ISO 8601 in UTC with a `Z`. */
const isoDate = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Quay's token JSON (`_token_view`); `token` only in the answer that creates it. */
export function robotApiTokenView(token: RobotApiToken, createdBy: string | null, value?: string) {
  return {
    uuid: token.uuid,
    name: token.name,
    scope: token.scopes,
    expires_at: isoDate(token.expiresAt),
    created: isoDate(token.createdAt),
    created_by: createdBy,
    last_accessed: isoDate(token.lastAccessedAt),
    ...(value === undefined ? {} : { token: value }),
  };
}
