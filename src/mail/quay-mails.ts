/**
 * The mails Quay sends (its `util/useremails.py`), with Quay's subjects (`[<REGISTRY_TITLE_SHORT>]
 * <subject>`) and links (`<origin>/confirm?code=…`, `/recovery?code=…`, `/confirminvite?code=…`),
 * in Wharf's own words. Each carries a code; ./mailer.ts never logs a mail's text.
 *
 * A flow that mails takes a `Mailer` (or null when FEATURE_MAILING is off, and it sends nothing):
 * the environment to queue on, and the origin and title the links and subjects need, which only
 * the request knows.
 */
import { readConfig } from "../config";
import { type MailMessage, queueMail } from "./mailer";

export interface Mailer {
  env: Env;
  /** The registry's public origin (`https://registry.example.com`), for the links. */
  origin: string;
  /** REGISTRY_TITLE_SHORT. */
  title: string;
}

/** The mailer of a request, or null with FEATURE_MAILING off (Quay then mails nothing). */
export function mailerFor(env: Env, origin: string): Mailer | null {
  const config = readConfig(env);
  return config.FEATURE_MAILING ? { env, origin, title: config.REGISTRY_TITLE_SHORT } : null;
}

const FOOTER = "\n\nIf you did not expect this mail, you can ignore it.\n";

function mail(mailer: Mailer, to: string, subject: string, text: string): MailMessage {
  return { to, subject: `[${mailer.title}] ${subject}`, text: text + FOOTER };
}

/** Quay's `send_org_invite_email`: "Invitation to join team". */
export async function mailTeamInvite(
  mailer: Mailer,
  invite: { to: string; inviter: string; org: string; team: string; code: string },
): Promise<void> {
  const link = `${mailer.origin}/confirminvite?code=${invite.code}`;
  const text = [
    `${invite.inviter} has invited you to join the team ${invite.team} of the organization ${invite.org} on ${mailer.title}.`,
    "",
    `To join, sign in with the account holding this address and open ${link}`,
    `or accept with the API: PUT ${mailer.origin}/api/v1/teaminvite/${invite.code}`,
    `(DELETE declines).`,
  ].join("\n");
  await queueMail(mailer.env, mail(mailer, invite.to, "Invitation to join team", text));
}

/** Quay's `send_confirmation_email`: "Please confirm your e-mail address". */
export async function mailConfirmation(
  mailer: Mailer,
  account: { to: string; username: string; code: string },
): Promise<void> {
  const text = [
    `Welcome to ${mailer.title}, ${account.username}.`,
    "",
    `Confirm your e-mail address by opening ${mailer.origin}/confirm?code=${account.code}`,
    "Until then the account cannot sign in.",
  ].join("\n");
  await queueMail(mailer.env, mail(mailer, account.to, "Please confirm your e-mail address", text));
}

/** Quay's `send_change_email`: "E-mail address change requested", to the new address. */
export async function mailEmailChange(
  mailer: Mailer,
  change: { to: string; username: string; code: string },
): Promise<void> {
  const text = [
    `${change.username} asked to use this address for their ${mailer.title} account.`,
    "",
    `Confirm it by opening ${mailer.origin}/confirm?code=${change.code}`,
    "Until then the account keeps its old address.",
  ].join("\n");
  await queueMail(mailer.env, mail(mailer, change.to, "E-mail address change requested", text));
}

/** Quay's `send_email_changed`: "Account e-mail address changed", to the old address. */
export async function mailEmailChanged(
  mailer: Mailer,
  change: { to: string; username: string; newEmail: string },
): Promise<void> {
  const text = `The e-mail address of the ${mailer.title} account ${change.username} is now ${change.newEmail}.`;
  await queueMail(mailer.env, mail(mailer, change.to, "Account e-mail address changed", text));
}

/** Quay's `send_password_changed`: "Account password changed". */
export async function mailPasswordChanged(mailer: Mailer, account: { to: string; username: string }): Promise<void> {
  const text = `The password of the ${mailer.title} account ${account.username} was changed.`;
  await queueMail(mailer.env, mail(mailer, account.to, "Account password changed", text));
}

/** Quay's `send_recovery_email`: "Account recovery". */
export async function mailRecovery(
  mailer: Mailer,
  recovery: { to: string; code: string; lifetimeMinutes: number },
): Promise<void> {
  const text = [
    `Someone asked to recover the ${mailer.title} account of ${recovery.to}.`,
    "",
    `Open ${mailer.origin}/recovery?code=${recovery.code} within ${recovery.lifetimeMinutes} minutes:`,
    "it signs you in, and you can then choose a new password (PUT /api/v1/user/ with `password`).",
  ].join("\n");
  await queueMail(mailer.env, mail(mailer, recovery.to, "Account recovery", text));
}

/** Quay's `send_org_recovery_email`: "Organization <name> recovery", naming its admins. */
export async function mailOrganizationRecovery(
  mailer: Mailer,
  org: { to: string; name: string; admins: string[] },
): Promise<void> {
  const text = [
    `${org.to} is the address of the ${mailer.title} organization ${org.name}, which has no password to recover.`,
    "",
    `To regain access, ask one of its administrators: ${org.admins.join(", ") || "(none)"}.`,
  ].join("\n");
  await queueMail(mailer.env, mail(mailer, org.to, `Organization ${org.name} recovery`, text));
}

/** Quay's `send_logs_exported_email`: "Export Action Logs Complete", with the link (or the failure). */
export async function mailLogsExported(
  mailer: Mailer,
  done: { to: string; exportId: string; url: string | null; lifetimeMinutes: number },
): Promise<void> {
  const text = done.url
    ? [
        `The export ${done.exportId} of action logs you asked for on ${mailer.title} is ready.`,
        "",
        `Download it within ${done.lifetimeMinutes} minutes: ${done.url}`,
      ].join("\n")
    : `The export ${done.exportId} of action logs you asked for on ${mailer.title} failed. You may ask again.`;
  await queueMail(mailer.env, mail(mailer, done.to, "Export Action Logs Complete", text));
}
