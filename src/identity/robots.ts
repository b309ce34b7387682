/**
 * Robot accounts (Quay `data/model/user.py` robots): credentials for machines, each scoped to one
 * namespace (a user or an organization) and named `<namespace>+<shortname>`. A robot is a `users`
 * row of kind `robot` (so teams and repository permissions treat it as a member like any other)
 * plus a `robot_accounts` row with its token. The token is 64 characters as Quay's; lookups compare
 * its SHA-256, and a sealed copy lets the namespace's admins read it back as Quay's API does.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { conflict, invalid, modelError } from "../errors/domain";
import type { Db, Statement } from "../db/client";
import { robotAccounts, users, type RobotAccount, type User } from "../db/schema";
import { type EventScope, eventStatement } from "../events/outbox";
import { sha256Hex } from "../lib/encoding";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { quayDate } from "./app-tokens";
import { randomString } from "./passwords";
import { sameString } from "../lib/constant-time";
import { decryptSecret, encryptSecret } from "./secrets";
import { uniqueViolation } from "./users";
import { clock } from "../lib/clock";

type SecretEnv = { WHARF_SECRET_KEY?: string };

const ROBOT_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
export const ROBOT_TOKEN_LENGTH = 64;

/**
 * Quay validates a robot's shortname as a username (`create_robot` → `validate_username`), so the
 * docs' `orgname+robot-name` is valid: lower-case letters and digits with single `.`, `_` or `-`.
 */
export const robotShortnameSchema = z
  .string()
  .min(2, "The name for the robot is invalid: it must be between 2 and 255 characters in length")
  .max(255, "The name for the robot is invalid: it must be between 2 and 255 characters in length")
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    "The name for the robot is invalid: use lower-case letters and digits with single '.', '_' or '-' between them",
  );

export const ROBOTS_DISABLED_MESSAGE = "Robot accounts have been disabled. Please contact your administrator.";

/** Quay answers a missing robot with this message (and a `message` field, as its docs show). */
export const robotNotFound = () => modelError("Could not find robot with specified username");

export interface Robot {
  user: User;
  account: RobotAccount;
}

export function robotName(namespace: string, shortname: string): string {
  return `${namespace}+${shortname}`;
}

/** Splits `ns+short`; null when the name is not a robot's. */
export function parseRobotName(name: string): { namespace: string; shortname: string } | null {
  const plus = name.indexOf("+");
  if (plus <= 0 || plus !== name.lastIndexOf("+")) return null;
  return { namespace: name.slice(0, plus), shortname: name.slice(plus + 1) };
}

async function newToken(env: SecretEnv) {
  const token = randomString(ROBOT_TOKEN_ALPHABET, ROBOT_TOKEN_LENGTH);
  return { token, tokenHash: await sha256Hex(token), sealedToken: await encryptSecret(env, token) };
}

export interface RobotInput {
  description?: string;
  unstructuredMetadata?: Record<string, unknown> | null;
}

export async function createRobot(
  db: Db,
  env: SecretEnv,
  namespace: User,
  shortname: string,
  input: RobotInput,
  events: EventScope,
): Promise<Robot> {
  const name = robotName(namespace.username, shortname);
  if (name.length > 255) throw invalid("Robot account names must be at most 255 characters in total");
  const secret = await newToken(env);
  const robotId = sql`(select id from ${users} where username = ${name} and kind = 'robot')`;
  const description = input.description ?? "";
  const event = namespaceEvent("create_robot", namespace.username, events.origin, {
    robot: { name, id: 0 },
    description,
  });
  try {
    // One batch: the account, its token and its event appear together or not at all; the event
    // reads the new account's id in its statement.
    await db.batch([
      db.insert(users).values({ username: name, email: null, kind: "robot" }),
      db.insert(robotAccounts).values({
        userId: robotId,
        namespaceId: namespace.id,
        shortname,
        description,
        unstructuredMetadata: input.unstructuredMetadata ? JSON.stringify(input.unstructuredMetadata) : null,
        tokenHash: secret.tokenHash,
        sealedToken: secret.sealedToken,
      }),
      eventStatement(db, event, { computed: { "$.data.robot.id": robotId } }),
    ]);
  } catch (err) {
    if (uniqueViolation(err)) throw conflict(`Existing robot with name: ${name}`);
    throw err;
  }
  const robot = (await findRobot(db, namespace, shortname))!;
  events.publish([{ ...event, data: { ...event.data, robot: robotRef(robot) } }]);
  return robot;
}

/** How events name a robot: its full name and its account's id. */
export function robotRef(robot: Robot) {
  return { name: robot.user.username, id: robot.user.id };
}

/** The namespace a robot belongs to, by name (`ns` of `ns+short`). */
export function robotNamespace(robot: Robot): string {
  return parseRobotName(robot.user.username)!.namespace;
}

export async function findRobot(db: Db, namespace: User, shortname: string): Promise<Robot | undefined> {
  const row = await db
    .select({ user: users, account: robotAccounts })
    .from(robotAccounts)
    .innerJoin(users, eq(users.id, robotAccounts.userId))
    .where(and(eq(robotAccounts.namespaceId, namespace.id), eq(robotAccounts.shortname, shortname)))
    .get();
  return row ?? undefined;
}

export async function listRobots(db: Db, namespace: User, limit?: number): Promise<Robot[]> {
  const query = db
    .select({ user: users, account: robotAccounts })
    .from(robotAccounts)
    .innerJoin(users, eq(users.id, robotAccounts.userId))
    .where(eq(robotAccounts.namespaceId, namespace.id))
    .orderBy(asc(robotAccounts.shortname));
  return limit === undefined ? query.all() : query.limit(limit).all();
}

/** A new token; the old one stops working at once ("regenerating a token makes any previous tokens invalid"). */
export async function regenerateRobotToken(db: Db, env: SecretEnv, robot: Robot, events: EventScope): Promise<Robot> {
  const secret = await newToken(env);
  const update = db
    .update(robotAccounts)
    .set({ tokenHash: secret.tokenHash, sealedToken: secret.sealedToken })
    .where(eq(robotAccounts.userId, robot.user.id));
  const event = namespaceEvent("regenerate_robot_token", robotNamespace(robot), events.origin, {
    robot: robotRef(robot),
  });
  await commitWithEvents(db, events, [update], [event]);
  return {
    user: robot.user,
    account: { ...robot.account, tokenHash: secret.tokenHash, sealedToken: secret.sealedToken },
  };
}

/** Quay's refusal to delete the robot a repository mirror pushes with (endpoints/api/robot.py). */
export const ROBOT_USED_BY_MIRROR = "Robot is being used by a mirror";

/**
 * Deletes the robot, with its event; its token, federation entries and memberships go with its
 * `users` row (one change: no events of their own). A robot a repository mirror names is kept
 * (Quay's `robot_has_mirror`), checked in the delete's own statements so a mirror created
 * meanwhile keeps it too.
 */
export async function deleteRobot(db: Db, robot: Robot, events: EventScope): Promise<void> {
  const unused = sql`not exists (select 1 from repo_mirror_configs m where m.robot_user_id = ${robot.user.id})`;
  const event = namespaceEvent("delete_robot", robotNamespace(robot), events.origin, { robot: robotRef(robot) });
  const [row, deleted] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${users} where id = ${robot.user.id}) and ${unused}`),
    db
      .delete(users)
      .where(and(eq(users.id, robot.user.id), unused))
      .returning({ id: users.id }),
  ]);
  if (written(row)) events.publish([event]);
  if (deleted.length > 0) return;
  // Not deleted: gone already (a concurrent delete), or kept for a mirror.
  const kept = await db.select({ id: users.id }).from(users).where(eq(users.id, robot.user.id)).get();
  if (kept) throw invalid(ROBOT_USED_BY_MIRROR);
}

/** The statement deleting every robot of a namespace (run in the same batch as the namespace's deletion). */
export function deleteRobotsOf(db: Db, namespaceId: number) {
  return db
    .delete(users)
    .where(
      inArray(
        users.id,
        db.select({ id: robotAccounts.userId }).from(robotAccounts).where(eq(robotAccounts.namespaceId, namespaceId)),
      ),
    );
}

/**
 * The robot named by `name` if `token` is its current token (with the statement recording the
 * use, when one is due), else null. The SHA-256 comparison is constant-time; robots of a disabled
 * or deleted namespace match nothing.
 */
export async function authenticateRobot(
  db: Db,
  name: string,
  token: string,
  now = clock.now(),
): Promise<{ user: User; lastUse: Statement | null } | null> {
  if (token.length !== ROBOT_TOKEN_LENGTH) return null;
  // Hashed before the lookup, so a missing robot answers no sooner than a wrong token.
  const presented = await sha256Hex(token);
  const row = await robotByName(db, name);
  if (!row || !sameString(presented, row.account.tokenHash)) return null;
  // Quay's `last_accessed`; written at most once a minute, since clients log in per repository.
  // The statement is the login's to run, in one batch with its event (./credentials.ts).
  const due = row.account.lastAccessedAt === null || now - row.account.lastAccessedAt > 60_000;
  const lastUse = due
    ? db.update(robotAccounts).set({ lastAccessedAt: now }).where(eq(robotAccounts.userId, row.user.id))
    : null;
  return { user: row.user, lastUse };
}

/** The enabled robot `ns+short` whose namespace is enabled and not being deleted, or undefined. */
export async function robotByName(db: Db, name: string): Promise<Robot | undefined> {
  // Raw, qualified: a robot of a disabled namespace, or one being deleted, is no one.
  const namespace = sql`(select n.enabled and n.deleting_since is null from users n where n.id = "robot_accounts"."namespace_id")`;
  const row = await db
    .select({ user: users, account: robotAccounts, namespaceEnabled: namespace.mapWith(Number) })
    .from(users)
    .innerJoin(robotAccounts, eq(robotAccounts.userId, users.id))
    .where(and(eq(users.username, name), eq(users.kind, "robot")))
    .get();
  if (!row?.user.enabled || row.namespaceEnabled !== 1) return undefined;
  return { user: row.user, account: row.account };
}

/**
 * Quay's robot JSON (endpoints/api/robot_models_interface.py `Robot.to_dict`): `token` only when
 * the caller may read it; `unstructured_metadata` where Quay's `to_dict` has `include_metadata` (GET and PUT of one
 * robot), not in listings nor after a token is regenerated.
 */
export async function robotView(
  env: SecretEnv,
  robot: Robot,
  options: { includeToken: boolean; includeMetadata: boolean },
) {
  const view: Record<string, unknown> = {
    name: robot.user.username,
    created: quayDate(robot.user.createdAt),
    last_accessed: quayDate(robot.account.lastAccessedAt),
    description: robot.account.description,
  };
  if (options.includeMetadata)
    view.unstructured_metadata = robot.account.unstructuredMetadata
      ? (JSON.parse(robot.account.unstructuredMetadata) as unknown)
      : null;
  if (options.includeToken) view.token = await decryptSecret(env, robot.account.sealedToken);
  return view;
}
