/**
 * Users (Quay's accounts that are people): creation with Quay's uniqueness rules, lookup, update,
 * deletion, and the JSON views Quay's API returns for them. Nothing here knows about HTTP; errors
 * are Quay's API errors because these rules are Quay's.
 */
import { count, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { conflict } from "../errors/domain";
import type { Config } from "../config";
import { batchSql, type Db } from "../db/client";
import { repositories, users, type User } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { sha256Hex } from "../lib/encoding";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { hashPassword } from "./passwords";
import { endOtherSessions } from "./sessions";

/**
 * Usernames name a namespace, so they follow the /v2 path-component grammar (distribution-spec
 * "Pulling manifests"): lower-case letters and digits with single separators, 2-255 characters.
 */
export const usernameSchema = z
  .string()
  .min(2, "Username must be between 2 and 255 characters in length")
  .max(255, "Username must be between 2 and 255 characters in length")
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    "Username may contain only lower-case letters, digits and single '.', '_' or '-' between them",
  );

export const emailSchema = z
  .email("Invalid email address")
  .max(255)
  .transform((email) => email.toLowerCase());

/** Quay refuses passwords shorter than 8 characters ("Password must be at least 8 characters"). */
export const passwordSchema = z.string().min(8, "Password must be at least 8 characters").max(1024);

export async function findUser(db: Db, username: string): Promise<User | undefined> {
  return db.select().from(users).where(eq(users.username, username)).get();
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.select({ n: count() }).from(users).where(eq(users.kind, "user")).get();
  return row?.n ?? 0;
}

export async function ensureAvailable(
  db: Db,
  username: string,
  email: string | null,
  exceptId?: number,
): Promise<void> {
  const byName = await findUser(db, username);
  if (byName && byName.id !== exceptId) throw conflict("The username already exists");
  // A deleted account's repositories stay until they are cleaned up; a new account of the same
  // name must not inherit them (it would read another person's private images).
  if (!byName) {
    const left = await db
      .select({ id: repositories.id })
      .from(repositories)
      .where(eq(repositories.namespace, username))
      .limit(1)
      .get();
    if (left) throw conflict("The username already exists");
  }
  if (email) {
    const byEmail = await db.select({ id: users.id }).from(users).where(eq(users.email, email)).get();
    if (byEmail && byEmail.id !== exceptId) throw conflict("The email address is already used");
  }
}

/** D1 reports a lost race on a unique index as a constraint error: the same answer as the check. */
export function uniqueViolation(err: unknown): boolean {
  // drizzle wraps D1's error ("Failed query: …") and keeps SQLite's message in `cause`.
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    if (/UNIQUE constraint failed/i.test(String((e as Error)?.message ?? e))) return true;
  }
  return false;
}

export async function createUser(
  db: Db,
  input: { username: string; email: string | null; password: string; verified?: boolean },
  events: EventScope,
): Promise<User> {
  await ensureAvailable(db, input.username, input.email);
  const insert = db
    .insert(users)
    .values({
      username: input.username,
      email: input.email,
      kind: "user",
      passwordHash: await hashPassword(input.password),
      // Unverified only with FEATURE_MAILING, until the mailed link is followed (./account-mail.ts).
      verified: input.verified ?? true,
    })
    .returning();
  const event = namespaceEvent("user_create", input.username, events.origin, { email: input.email });
  try {
    const [created] = (await commitWithEvents(db, events, [insert], [event])) as User[][];
    return created![0]!;
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("The username or email address is already used");
    throw err;
  }
}

/**
 * Creates the first user of an empty registry (Quay's `POST /api/v1/user/initialize`), or returns
 * null when any user exists: one conditional insert, so two racing calls cannot both succeed, and
 * its `user_create` event on the same condition.
 */
export async function createFirstUser(
  db: Db,
  input: { username: string; email: string | null; password: string },
  events: EventScope,
): Promise<User | null> {
  const passwordHash = await hashPassword(input.password);
  const event = namespaceEvent("user_create", input.username, events.origin, { email: input.email });
  const empty = sql`not exists (select 1 from ${users})`;
  const [row, inserted] = await batchSql(db, [
    conditionalEvent(db, event, empty).getSQL(),
    sql`insert into ${users} (username, email, kind, password_hash)
      select ${input.username}, ${input.email}, 'user', ${passwordHash}
      where ${empty}
      returning id`,
  ]);
  const id = (inserted?.results[0] as { id: number } | undefined)?.id;
  if (id === undefined || !written(row?.results)) return null;
  events.publish([event]);
  return (await db.select().from(users).where(eq(users.id, id)).get()) ?? null;
}

export interface UserChanges {
  password?: string;
  email?: string;
  enabled?: boolean;
  /** The namespace's time-machine window; the caller checks it against TAG_EXPIRATION_OPTIONS. */
  tagExpirationS?: number;
}

/**
 * Applies `changes`. A new password also signs out every session of the user but
 * `keepSessionId` (the session making the change, if any), in the same batch, as Quay does by
 * rotating the user's uuid; tokens stay, as in Quay. Passwords the isolate remembers are bound to
 * the stored hash (./credentials.ts), so the old one stops working at once.
 */
export async function updateUser(
  db: Db,
  user: User,
  changes: UserChanges,
  keepSessionId: number | null,
  events: EventScope,
): Promise<User> {
  // Only what differs is written (a new password always does), each change with its event.
  const values: Partial<typeof users.$inferInsert> = {};
  const changed: RegistryEvent[] = [];
  const { origin } = events;
  if (changes.email !== undefined && changes.email !== user.email) {
    await ensureAvailable(db, user.username, changes.email, user.id);
    values.email = changes.email;
    changed.push(namespaceEvent("user_change_email", user.username, origin, { email: changes.email }));
  }
  if (changes.password !== undefined) {
    values.passwordHash = await hashPassword(changes.password);
    changed.push(namespaceEvent("user_change_password", user.username, origin, {}));
  }
  if (changes.enabled !== undefined && changes.enabled !== user.enabled) {
    values.enabled = changes.enabled;
    changed.push(namespaceEvent(changes.enabled ? "user_enable" : "user_disable", user.username, origin, {}));
  }
  if (changes.tagExpirationS !== undefined && changes.tagExpirationS !== user.tagExpirationS) {
    values.tagExpirationS = changes.tagExpirationS;
    const tagExpirationS = changes.tagExpirationS;
    changed.push(namespaceEvent("user_change_tag_expiration", user.username, origin, { tagExpirationS }));
  }
  if (changed.length === 0) return user;
  try {
    const update = db.update(users).set(values).where(eq(users.id, user.id)).returning();
    const signOut = values.passwordHash === undefined ? [] : [endOtherSessions(db, user.id, keepSessionId)];
    const [updated] = (await commitWithEvents(db, events, [update, ...signOut], changed)) as User[][];
    return updated![0]!;
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("The email address is already used");
    throw err;
  }
}

export function isSuperuser(config: Config, username: string): boolean {
  return config.SUPER_USERS.includes(username);
}

// Quay's avatar palette (config.py AVATAR_COLORS, 32 colours); the colour is picked from the hash,
// so it is stable per account.
const AVATAR_COLORS = [
  "#969696",
  "#aec7e8",
  "#ff7f0e",
  "#ffbb78",
  "#2ca02c",
  "#98df8a",
  "#d62728",
  "#ff9896",
  "#9467bd",
  "#c5b0d5",
  "#8c564b",
  "#c49c94",
  "#e377c2",
  "#f7b6d2",
  "#7f7f7f",
  "#c7c7c7",
  "#bcbd22",
  "#1f77b4",
  "#17becf",
  "#9edae5",
  "#393b79",
  "#5254a3",
  "#6b6ecf",
  "#9c9ede",
  "#9ecae1",
  "#31a354",
  "#b5cf6b",
  "#a1d99b",
  "#8c6d31",
  "#ad494a",
  "#e7ba52",
  "#a55194",
];
/** Quay reads just enough leading hex digits of the hash to index the palette: ceil(log16(32)) = 2. */
const COLOR_HEX_DIGITS = Math.ceil(Math.log(AVATAR_COLORS.length) / Math.log(16));

/**
 * Quay's `avatar` object: `{name, hash, color, kind}`. Quay hashes the email (for Gravatar); Wharf
 * hashes the name, which every view shows anyway: avatars go to anyone (`GET /api/v1/entities/…`
 * lists every person to anonymous callers), and an unsalted hash of an email lets an outsider
 * confirm a guessed address. Wharf draws no Gravatar. `_email` stays for the callers' sake.
 */
export async function avatar(
  name: string,
  _email: string | null,
  kind: "user" | "org" | "robot" | "team" | "app" = "user",
) {
  const hash = await sha256Hex(name);
  return {
    name,
    hash,
    color: AVATAR_COLORS[Number.parseInt(hash.slice(0, COLOR_HEX_DIGITS), 16) % AVATAR_COLORS.length]!,
    kind,
  };
}

/**
 * The entry of `GET /api/v1/superuser/users/`; `quotaFields`, Quay's `quotas` and `quota_report`
 * with FEATURE_QUOTA_MANAGEMENT (src/quota/quota-views.ts).
 */
export async function superuserUserView(config: Config, user: User, quotaFields: Record<string, unknown> = {}) {
  return {
    kind: "user",
    name: user.username,
    username: user.username,
    email: user.email,
    verified: user.verified,
    avatar: await avatar(user.username, user.email),
    super_user: isSuperuser(config, user.username),
    enabled: user.enabled,
    // Quay's GLOBAL_READONLY_SUPER_USERS (superusers who may only read); Wharf has no such
    // setting, so no one is one.
    global_readonly_super_user: false,
    ...quotaFields,
  };
}

/**
 * `GET /api/v1/user/`: the signed-in user as Quay describes them to themselves (endpoints/api/
 * user.py `user_view`); `organizations` comes from `userOrganizationsView`
 * (src/identity/organization-views.ts). Quay adds `super_user` only when the caller holds
 * superuser powers (a superuser's session, or a token with super:user), and leaves the key out
 * otherwise: scripts test for its presence. `is_free_account` is true without billing (no
 * `stripe_id`); `has_password_set` says whether the account can log in with a password.
 */
export async function ownUserView(
  config: Config,
  user: User,
  organizations: unknown[] = [],
  options: { superuserScope: boolean; quotaFields?: Record<string, unknown>; logins?: unknown[] } = {
    superuserScope: true,
  },
) {
  return {
    anonymous: false,
    username: user.username,
    avatar: await avatar(user.username, user.email),
    can_create_repo: true,
    is_me: true,
    verified: user.verified,
    email: user.email,
    // Quay's external logins of the account (src/identity/external-logins.ts).
    logins: options.logins ?? [],
    invoice_email: false,
    invoice_email_address: null,
    preferred_namespace: false,
    tag_expiration_s: user.tagExpirationS,
    prompts: [],
    company: null,
    family_name: null,
    given_name: null,
    location: null,
    is_free_account: true,
    has_password_set: user.passwordHash !== null,
    // Quay's `quotas` and `quota_report` with FEATURE_QUOTA_MANAGEMENT (src/quota/quota-views.ts).
    ...options.quotaFields,
    organizations,
    ...(options.superuserScope && isSuperuser(config, user.username) ? { super_user: true } : {}),
  };
}
