/**
 * Accounts of external OpenID Connect logins (Quay `endpoints/oauth/login.py` and the federated
 * login functions of `data/model/user.py`): a provider's subject linked to an account signs that
 * account in; a new subject gets an account of its own (FEATURE_USER_CREATION) named after its
 * preferred username, made unique; a signed-in person may attach a provider's subject to their
 * account and detach it again. The browser carries what it must bring back from the provider
 * (state, nonce, PKCE verifier, who asked) sealed in a short-lived cookie (./secrets.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { federatedLogins, users, type User } from "../db/schema";
import { invalid } from "../errors/domain";
import { clock } from "../lib/clock";
import type { OidcProvider } from "../lib/oidc-providers";
import { accountRef, commitWithEvents, namespaceEvent } from "./account-events";
import type { EventScope } from "../events/outbox";
import type { LoginAudit } from "./logins";
import { type ExternalIdentity, type LoginChallenge, OidcRefused } from "./oidc-client";
import { decryptSecret, encryptSecret } from "./secrets";
import { newSession } from "./sessions";
import { ensureAvailable, uniqueViolation } from "./users";

/** How long the provider may take to send the browser back: ten minutes. */
export const LOGIN_STATE_TTL_MS = 10 * 60_000;

/** What the sealed cookie holds between the authorization URL and the callback. */
export interface LoginState extends LoginChallenge {
  service: string;
  kind: "login" | "attach";
  /** The account asking to attach (kind `attach`). */
  userId: number | null;
  /** A same-origin path to land on after signing in. */
  redirect: string;
  expires: number;
}

type SecretEnv = { WHARF_SECRET_KEY?: string };

export const sealLoginState = (env: SecretEnv, state: LoginState) => encryptSecret(env, JSON.stringify(state));

/**
 * The state sealed in `cookie`, when it is this service's, of this kind, unexpired and names the
 * `state` the provider sent back; else {@link OidcRefused}: a callback the browser did not start
 * (a forged link, a replay, another tab's provider) signs no one in.
 */
export async function openLoginState(
  env: SecretEnv,
  cookie: string | undefined,
  expected: { service: string; kind: LoginState["kind"]; state: string },
  now = clock.now(),
): Promise<LoginState> {
  const sealed = await unseal(env, cookie);
  if (!sealed) throw new OidcRefused("This sign-in was not started in this browser; please sign in again");
  if (sealed.expires <= now) throw new OidcRefused("This sign-in took too long; please sign in again");
  if (sealed.service !== expected.service || sealed.kind !== expected.kind || !sameText(sealed.state, expected.state))
    throw new OidcRefused("The sign-in's state does not match; please sign in again");
  return sealed;
}

async function unseal(env: SecretEnv, cookie: string | undefined): Promise<LoginState | null> {
  const plain = cookie ? await decryptSecret(env, cookie).catch(() => null) : null;
  try {
    return plain ? (JSON.parse(plain) as LoginState) : null;
  } catch {
    return null;
  }
}

/**
 * Whether `cookie` holds an unexpired sign-in of this service and kind, whatever its `state` (a
 * provider's error answer may come without one): only then is the provider's own error text shown.
 */
export async function loginStarted(
  env: SecretEnv,
  cookie: string | undefined,
  expected: { service: string; kind: LoginState["kind"] },
  now = clock.now(),
): Promise<boolean> {
  const sealed = await unseal(env, cookie);
  return !!sealed && sealed.expires > now && sealed.service === expected.service && sealed.kind === expected.kind;
}

function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The account linked to `subject` at `service`, if any. */
async function linkedUser(db: Db, service: string, subject: string): Promise<User | undefined> {
  const row = await db
    .select({ user: users })
    .from(federatedLogins)
    .innerJoin(users, eq(users.id, federatedLogins.userId))
    .where(and(eq(federatedLogins.serviceId, service), eq(federatedLogins.subject, subject)))
    .get();
  return row?.user;
}

/**
 * Names to try for a new account, as Quay's `generate_valid_usernames`: the claimed name made
 * valid (lower case, other characters to `_`, at least two characters), then with 1, 2, 3… after it.
 */
export function* usernameCandidates(claimed: string): Generator<string> {
  let base = claimed
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "_")
    .replace(/[._-]{2,}/g, "_")
    .replace(/^[._-]+|[._-]+$/g, "")
    .slice(0, 240);
  if (base.length < 2) base = `${base || "user"}0`.padEnd(2, "0");
  yield base;
  for (let n = 1; n < 100; n++) yield `${base}${n}`;
}

/**
 * The first candidate no account holds and `reserved` does not claim. SUPER_USERS names are
 * reserved even before their owners sign up (as sign-up refuses them, ./account-life.ts): whoever
 * a provider calls `admin` would otherwise become a superuser on first sign-in.
 */
async function freeUsername(db: Db, claimed: string, reserved: (name: string) => boolean): Promise<string> {
  for (const candidate of usernameCandidates(claimed)) {
    if (reserved(candidate)) continue;
    try {
      await ensureAvailable(db, candidate, null);
      return candidate;
    } catch {
      // taken: the next one
    }
  }
  throw new OidcRefused("Could not find a free username for this account");
}

/** How accounts are made for new subjects. */
export interface ExternalAccountOptions {
  userCreation: boolean;
  /**
   * Set while the registry is read-only (REGISTRY_STATE): a new account is a write, refused with
   * these words; a linked subject still signs in, as a password does (Quay's signin is
   * `@readonly_call_allowed`).
   */
  readOnlyMessage?: string;
  registryTitle: string;
  /** Names no new account may take (SUPER_USERS' names). */
  reservedName: (name: string) => boolean;
}

export interface ExternalSignIn {
  user: User;
  cookie: string;
  /** Whether the account was made by this sign-in. */
  created: boolean;
}

/**
 * Signs `identity` in (Quay's `_conduct_oauth_login` and `_perform_login`): its linked account, or
 * a new one. A session starts, with its `login_success` (credential `oidc`) in the same batch.
 */
export async function signInExternal(
  db: Db,
  provider: OidcProvider,
  identity: ExternalIdentity,
  options: ExternalAccountOptions,
  audit: LoginAudit,
): Promise<ExternalSignIn> {
  let user = await linkedUser(db, provider.id, identity.subject);
  let created = false;
  if (!user) {
    user = await createExternalUser(db, provider, identity, options, audit);
    created = true;
  }
  if (!user.enabled || user.kind !== "user") throw new OidcRefused("Could not login. Account may be disabled");
  const session = await newSession(db, user);
  const origin = { actor: accountRef(user), ip: audit.events.origin.ip };
  const event = namespaceEvent("login_success", user.username, origin, {
    surface: "signin",
    credential: "oidc",
    userAgent: audit.userAgent?.slice(0, 512) ?? null,
  });
  await commitWithEvents(db, audit.events, [session.insert], [event]);
  return { user, cookie: session.cookie, created };
}

async function createExternalUser(
  db: Db,
  provider: OidcProvider,
  identity: ExternalIdentity,
  options: ExternalAccountOptions,
  audit: LoginAudit,
): Promise<User> {
  if (options.readOnlyMessage) throw new OidcRefused(options.readOnlyMessage);
  if (!options.userCreation) throw new OidcRefused("User creation is disabled. Please contact your administrator");
  if (identity.email) {
    const owner = await db.select({ id: users.id }).from(users).where(eq(users.email, identity.email)).get();
    if (owner)
      throw new OidcRefused(
        `The e-mail address ${identity.email} is already associated with an existing ${options.registryTitle} account. ` +
          `Please log in with your username and password and associate your ${provider.title} account to use it in the future.`,
      );
  }
  const username = await freeUsername(db, identity.username, options.reservedName);
  // No password: the account signs in through its provider until its owner sets one.
  const insert = db.insert(users).values({ username, email: identity.email, kind: "user", verified: true });
  // The link names the account by the id its insert gets, in the same batch (every column, in
  // the table's order, as drizzle's `insert … select` wants them; a null id is the next one).
  const value = <T>(v: T, name: string) => sql<T>`${v}`.as(name);
  const link = db.insert(federatedLogins).select(
    db
      .select({
        id: value(null as number | null, "id"),
        userId: users.id,
        serviceId: value(provider.id, "service_id"),
        subject: value(identity.subject, "subject"),
        serviceUsername: value(identity.username, "service_username"),
        createdAt: value(clock.now(), "created_at"),
      })
      .from(users)
      .where(eq(users.username, username)),
  );
  const event = namespaceEvent("user_create", username, audit.events.origin, { email: identity.email });
  try {
    await commitWithEvents(db, audit.events, [insert, link], [event]);
  } catch (err) {
    // A race with another sign-in of the same subject, or for the same name: the next try finds it.
    if (uniqueViolation(err)) throw new OidcRefused("The account is being created elsewhere; please sign in again");
    throw err;
  }
  return (await db.select().from(users).where(eq(users.username, username)).get())!;
}

/**
 * Links `identity` to `user` (Quay's `_attach_service`), or refuses with Quay's words when the
 * subject belongs to another account or the account already has a link to this provider.
 */
export async function attachExternal(
  db: Db,
  provider: OidcProvider,
  user: User,
  identity: ExternalIdentity,
  registryTitle: string,
  events: EventScope,
): Promise<void> {
  const taken = `${provider.title} account ${identity.username} is already attached to a ${registryTitle} account`;
  const holder = await linkedUser(db, provider.id, identity.subject);
  if (holder && holder.id !== user.id) throw new OidcRefused(taken);
  if (holder) return;
  const link = db.insert(federatedLogins).values({
    userId: user.id,
    serviceId: provider.id,
    subject: identity.subject,
    serviceUsername: identity.username,
  });
  const event = namespaceEvent("external_login_attach", user.username, events.origin, {
    service: provider.id,
    serviceUsername: identity.username,
  });
  try {
    await commitWithEvents(db, events, [link], [event]);
  } catch (err) {
    if (uniqueViolation(err))
      throw new OidcRefused(`Your account is already attached to a ${provider.title} account; detach it first`);
    throw err;
  }
}

/**
 * Removes `user`'s link to `service` (Quay's `detach_external_login`; nothing to remove is no
 * error). Beyond Quay, an account without a password keeps its only link: detaching it would lock
 * the account out.
 */
export async function detachExternal(db: Db, user: User, service: string, events: EventScope): Promise<void> {
  if (user.passwordHash === null) {
    const links = await db
      .select({ service: federatedLogins.serviceId })
      .from(federatedLogins)
      .where(eq(federatedLogins.userId, user.id))
      .all();
    if (links.length === 1 && links[0]!.service === service)
      throw invalid("Set a password before detaching the only way this account signs in");
  }
  const link = and(eq(federatedLogins.userId, user.id), eq(federatedLogins.serviceId, service));
  // Nothing to remove is no error, and no event: only a removed link is a change.
  const held = await db.select({ id: federatedLogins.id }).from(federatedLogins).where(link).get();
  if (!held) return;
  const event = namespaceEvent("external_login_detach", user.username, events.origin, { service });
  await commitWithEvents(db, events, [db.delete(federatedLogins).where(eq(federatedLogins.id, held.id))], [event]);
}

/** The user's links, in Quay's `logins` of the user view: `service`, `service_identifier`, `metadata`. */
export async function externalLoginsOf(db: Db, user: User) {
  const rows = await db
    .select()
    .from(federatedLogins)
    .where(eq(federatedLogins.userId, user.id))
    .orderBy(federatedLogins.id)
    .all();
  return rows.map((row) => ({
    service: row.serviceId,
    service_identifier: row.subject,
    metadata: { service_username: row.serviceUsername },
  }));
}
