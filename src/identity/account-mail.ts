/**
 * The account flows that mail (FEATURE_MAILING; Quay's `endpoints/api/user.py`, `superuser.py` and
 * `endpoints/web.py`): confirming a new account's address, confirming a change of address, password
 * recovery requested by anyone or by a superuser, and following the mailed links. Codes are in
 * ./email-codes.ts, the mails in src/mail/quay-mails.ts.
 */
import { and, asc, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { teamMembers, teams, type User, users } from "../db/schema";
import { invalid, notFound } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import {
  type Mailer,
  mailConfirmation,
  mailEmailChange,
  mailEmailChanged,
  mailOrganizationRecovery,
  mailPasswordChanged,
  mailRecovery,
} from "../mail/quay-mails";
import { CONFIRMATION_LIFETIME_MS, issueEmailCode, type UsedCode, useEmailCode } from "./email-codes";
import { newSession } from "./sessions";
import { createUser, type UserChanges, updateUser } from "./users";

/** Quay's `send_confirmation_email` of a new, unverified account (sign-up, or a superuser's). */
export async function sendAccountConfirmation(db: Db, mailer: Mailer, user: User, events: EventScope): Promise<void> {
  if (!user.email) return;
  const purpose = "confirm" as const;
  const code = await issueEmailCode(
    db,
    user,
    { purpose, email: user.email, lifetimeMs: CONFIRMATION_LIFETIME_MS },
    events,
  );
  await mailConfirmation(mailer, { to: user.email, username: user.username, code });
}

/**
 * Quay's `createInstallUser` (a superuser's): with mailing on, the account is unverified and its
 * address gets a confirmation link, as a signed-up one (Quay's `create_install_user`).
 */
export async function createInstallUser(
  db: Db,
  mailer: Mailer | null,
  input: { username: string; email: string; password: string },
  events: EventScope,
): Promise<User> {
  const user = await createUser(db, { ...input, verified: !mailer }, events);
  if (mailer) await sendAccountConfirmation(db, mailer, user, events);
  return user;
}

/**
 * Quay's change of address with mailing on: the account keeps its address, and the new one gets a
 * confirmation link (`send_change_email`); following it makes the change. Quay's "E-mail address
 * already used" for an address another account has.
 */
export async function requestEmailChange(
  db: Db,
  mailer: Mailer,
  user: User,
  newEmail: string,
  events: EventScope,
): Promise<void> {
  const taken = await db.select({ id: users.id }).from(users).where(eq(users.email, newEmail)).get();
  if (taken && taken.id !== user.id) throw invalid("E-mail address already used");
  const code = await issueEmailCode(
    db,
    user,
    { purpose: "confirm", email: newEmail, newEmail, lifetimeMs: CONFIRMATION_LIFETIME_MS },
    events,
  );
  await mailEmailChange(mailer, { to: newEmail, username: user.username, code });
}

/**
 * Quay's `changeUserDetails` for one's own account: with mailing on (`mailer`), a new address is
 * only requested (it is confirmed by its link, above) and a new password is announced to the
 * account's address (`send_password_changed`); without, ./users.ts's `updateUser` does it all.
 */
export async function changeOwnDetails(
  db: Db,
  mailer: Mailer | null,
  user: User,
  changes: UserChanges,
  keepSessionId: number | null,
  events: EventScope,
): Promise<User> {
  if (!mailer) return updateUser(db, user, changes, keepSessionId, events);
  const { email, ...rest } = changes;
  const newEmail = email !== undefined && email !== user.email ? email : null;
  if (newEmail) {
    const taken = await db.select({ id: users.id }).from(users).where(eq(users.email, newEmail)).get();
    if (taken) throw invalid("E-mail address already used");
  }
  const updated = await updateUser(db, user, rest, keepSessionId, events);
  if (rest.password !== undefined && updated.email)
    await mailPasswordChanged(mailer, { to: updated.email, username: updated.username });
  if (newEmail) await requestEmailChange(db, mailer, updated, newEmail, events);
  return updated;
}

/** A mailed link followed: who it was for, and the cookie of the browser session it signs in. */
export interface FollowedLink extends UsedCode {
  cookie: string;
}

/** Signs the link's user in, as Quay's `common_login` does there; the session is fresh. */
async function signedIn(db: Db, used: UsedCode): Promise<FollowedLink> {
  const session = await newSession(db, used.user);
  await session.insert;
  return { ...used, cookie: session.cookie };
}

/**
 * Quay's `confirm_email` (`GET /confirm?code=`): the account is verified, or takes its new address
 * (the old one is told: `send_email_changed`), and the browser is signed in.
 */
export async function confirmEmail(db: Db, mailer: Mailer, code: string, events: EventScope): Promise<FollowedLink> {
  const used = await useEmailCode(db, code, "confirm", events);
  if (used.oldEmail && used.newEmail)
    await mailEmailChanged(mailer, { to: used.oldEmail, username: used.user.username, newEmail: used.newEmail });
  return signedIn(db, used);
}

/**
 * Quay's `confirm_recovery` (`GET /recovery?code=`): the browser is signed in with a fresh login,
 * so the user can set a new password (`PUT /api/v1/user/`) at once.
 */
export async function recoverAccount(db: Db, code: string, events: EventScope): Promise<FollowedLink> {
  return signedIn(db, await useEmailCode(db, code, "recovery", events));
}

export type RecoveryAnswer = { status: "sent" } | { status: "org"; orgemail: string; orgname: string };

/** Quay's redaction of an organization's name in the recovery answer: its ends kept, the rest dots. */
function redact(value: string): string {
  const threshold = Math.max(value.length / 3 - 1, 1);
  return [...value].map((ch, i) => (i < threshold || i >= value.length - threshold ? ch : "\u2022")).join("");
}

/** The people administering `org`, by name, for its recovery mail. */
async function organizationAdmins(db: Db, org: User): Promise<string[]> {
  const rows = await db
    .selectDistinct({ username: users.username })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .innerJoin(users, and(eq(users.id, teamMembers.userId), eq(users.kind, "user"), eq(users.enabled, true)))
    .where(and(eq(teams.organizationId, org.id), eq(teams.role, "admin")))
    .orderBy(asc(users.username))
    .all();
  return rows.map((r) => r.username);
}

async function mailRecoveryCode(db: Db, mailer: Mailer, user: User, lifetimeS: number, events: EventScope) {
  const email = user.email!;
  const code = await issueEmailCode(db, user, { purpose: "recovery", email, lifetimeMs: lifetimeS * 1000 }, events);
  await mailRecovery(mailer, { to: email, code, lifetimeMinutes: Math.round(lifetimeS / 60) });
}

/**
 * Quay's `requestRecoveryEmail`: anyone names an address; whatever it belongs to, the answer is
 * `{"status": "sent"}` (so it tells nobody which addresses have accounts), except Quay's answer
 * for an organization's address, whose mail names its admins (`{"status": "org", …}`). Only an
 * enabled person's address gets a recovery link.
 */
export async function requestRecovery(
  db: Db,
  mailer: Mailer,
  email: string,
  lifetimeS: number,
  events: EventScope,
): Promise<RecoveryAnswer> {
  const owner = await db
    .select()
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletingSince)))
    .get();
  if (!owner?.enabled) return { status: "sent" };
  if (owner.kind === "organization") {
    await mailOrganizationRecovery(mailer, {
      to: email,
      name: owner.username,
      admins: await organizationAdmins(db, owner),
    });
    return { status: "org", orgemail: email, orgname: redact(owner.username) };
  }
  if (owner.kind !== "user") return { status: "sent" };
  await mailRecoveryCode(db, mailer, owner, lifetimeS, events);
  return { status: "sent" };
}

/**
 * Quay's `sendInstallUserRecoveryEmail`: a superuser mails a person their recovery link. 404 for
 * no such person; Quay's 400 "Cannot send a recovery email for a superuser"; answers `{"email"}`.
 */
export async function sendRecoveryFor(
  db: Db,
  mailer: Mailer,
  target: User | undefined,
  superuser: boolean,
  lifetimeS: number,
  events: EventScope,
): Promise<{ email: string }> {
  if (target?.kind !== "user" || target.deletingSince !== null) throw notFound();
  if (superuser) throw invalid("Cannot send a recovery email for a superuser");
  if (!target.email) throw invalid("The user has no e-mail address");
  await mailRecoveryCode(db, mailer, target, lifetimeS, events);
  return { email: target.email };
}
