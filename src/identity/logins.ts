/**
 * Logins as events (docs/events.md, "Logins"). A login changes nothing, or only when a credential
 * was last used, so its event is the record itself: `login_success` or `login_failure`, written
 * through the outbox in one batch with whatever the login does write (a token's or robot's
 * `last_accessed`, a new browser session), then published after the commit.
 *
 * What is recorded follows Quay (ACTION_LOG_AUDIT_LOGINS, default true;
 * ACTION_LOG_AUDIT_LOGIN_FAILURES, default false, here always on): a success where a client signs
 * in (the browser's sign-in, an application's authorization with a password, `docker login`),
 * not each token request a pull makes (/v2/auth naming a repository; Quay's `is_login_event`);
 * every failure where a credential was checked. Failures are bounded by the login limits
 * (./login-limits.ts): a client that must wait is refused before any check, and records nothing.
 */
import type { Db, Statement } from "../db/client";
import type { User } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { Actor } from "../events/envelope";
import type { EventScope } from "../events/outbox";
import { accountRef, commitWithEvents, namespaceEvent } from "./account-events";
import { parseRobotName } from "./robots";
import type { Scope } from "./scopes";

/**
 * How a login was proven. `encrypted-password` is Quay's `encrypted_password` (the client key of
 * `POST /api/v1/user/clientkey`): a password for registry clients only, so surfaces that take
 * "password" alone (signing in, approving an application) refuse it. Events call it `password`.
 */
export type AuthenticatedVia = "password" | "encrypted-password" | "oauth" | "app" | "robot" | "federated-robot";

/** The `credential` an event names: the catalogue's (src/events/identity-catalogue.ts). */
const eventCredential = (via: AuthenticatedVia) => (via === "encrypted-password" ? "password" : via);

export type Authenticated = { user: User; via: AuthenticatedVia; scopes?: Scope[] };

/** A credential proven, with the statement recording its use (a token's `last_accessed`), not yet run. */
export type Proven = Authenticated & { lastUse: Statement | null };

/** Where a credential is presented. */
export type LoginSurface = "v2auth" | "signin" | "authorizeapp" | "v1" | "federation";

/** How a surface records the logins it checks; routes build it (src/middleware/event-scope.ts). */
export interface LoginAudit {
  surface: LoginSurface;
  /** The request's events: its client address, and publication after the answer. */
  events: EventScope;
  /** Whether a success is a login to record (false: a pull's token request, a search). */
  recordSuccess: boolean;
  /** The credentials the surface takes (default: all); another one proven is refused as a failure. */
  accepts?: readonly AuthenticatedVia[];
  /** The client's User-Agent, as Quay's login records keep it. */
  userAgent: string | null;
}

/** What a login attempt came to, for {@link commitLogin}. */
export interface LoginAttempt {
  /** The name the client gave: a username, `ns+robot`, `$app` or `$oauthtoken`. */
  username: string;
  proven: Proven | null;
  /** What presenting a username of this form is, for a failure's `credential`. */
  presented?: "oidc";
  /** Writes the login itself makes once accepted (a browser session), committed with its event. */
  with?: Statement[];
}

/** Text from the client, bounded before it is stored. */
const bounded = (text: string | null, max: number) => (text === null ? null : text.slice(0, max));

/**
 * Commits the login's writes and its event in one batch (no event for a success the surface does
 * not record; nothing at all when neither), and answers who logged in, or null when refused.
 */
export async function commitLogin(db: Db, audit: LoginAudit, attempt: LoginAttempt): Promise<Authenticated | null> {
  const { proven } = attempt;
  const accepted = proven !== null && (audit.accepts?.includes(proven.via) ?? true) ? proven : null;
  let event: RegistryEvent | null = null;
  if (!accepted) event = failureEvent(audit, attempt, proven ? "not_accepted" : "invalid");
  else if (audit.recordSuccess) event = successEvent(audit, accepted);
  const statements = [...(proven?.lastUse ? [proven.lastUse] : []), ...(accepted ? (attempt.with ?? []) : [])];
  if (statements.length > 0 || event) await commitWithEvents(db, audit.events, statements, event ? [event] : []);
  if (!accepted) return null;
  return { user: accepted.user, via: accepted.via, ...(accepted.scopes ? { scopes: accepted.scopes } : {}) };
}

/** Who a proven credential acts as: the account, or a token acting for its user. */
function loginActor(who: Authenticated): Actor {
  if (who.via === "oauth" || who.via === "app") {
    return { kind: "token", name: who.user.username, id: who.user.id, token: who.via };
  }
  return accountRef(who.user);
}

/** The namespace an account's events go to: its own, or (a robot) its namespace's. */
function accountNamespace(user: Pick<User, "username" | "kind">): string {
  return user.kind === "robot" ? (parseRobotName(user.username)?.namespace ?? user.username) : user.username;
}

function successEvent(audit: LoginAudit, who: Authenticated): RegistryEvent {
  const origin = { actor: loginActor(who), ip: audit.events.origin.ip };
  return namespaceEvent("login_success", accountNamespace(who.user), origin, {
    surface: audit.surface,
    credential: eventCredential(who.via),
    userAgent: bounded(audit.userAgent, 512),
  });
}

/**
 * A failure names no account as its actor (nobody proved anything); it goes to the namespace of a
 * robot's name, as Quay logs it, and to none for a person's name, $app or $oauthtoken.
 */
function failureEvent(audit: LoginAudit, attempt: LoginAttempt, reason: "invalid" | "not_accepted"): RegistryEvent {
  const { username } = attempt;
  const robot = parseRobotName(username);
  const credential =
    (attempt.proven ? eventCredential(attempt.proven.via) : undefined) ??
    attempt.presented ??
    (username === "$app" ? "app" : username === "$oauthtoken" ? "oauth" : robot ? "robot" : "password");
  const origin = { actor: { kind: "anonymous" as const }, ip: audit.events.origin.ip };
  return namespaceEvent("login_failure", robot?.namespace ?? null, origin, {
    surface: audit.surface,
    credential,
    username: username.slice(0, 255),
    reason,
    userAgent: bounded(audit.userAgent, 512),
  });
}
