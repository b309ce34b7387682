/**
 * What repository notifications mail, through the one mailer (src/mail/): the verification of an
 * address (Quay's `send_repo_authorization_email`, its subject and `/authrepoemail?code=…` link)
 * and an `email` notification (Quay's `EmailMethod`: the event's summary as the subject).
 */
import { queueMail } from "../mail/mailer";
import type { Mailer } from "../mail/quay-mails";
import { eventSummary, type NotificationEventName } from "./events";

/** Mails the link that confirms `to` for the repository's notifications. */
export async function mailRepositoryAuthorization(
  mailer: Mailer,
  request: { to: string; repository: string; code: string },
): Promise<void> {
  const text = [
    `Someone with admin rights on the ${mailer.title} repository ${request.repository} asked to send its notifications to this address.`,
    "",
    `To agree, open ${mailer.origin}/authrepoemail?code=${request.code}`,
    "",
    "If you did not expect this mail, you can ignore it: nothing is sent to you unless you agree.",
  ].join("\n");
  await queueMail(mailer.env, {
    to: request.to,
    subject: `[${mailer.title}] Please verify your e-mail address for repository ${request.repository}`,
    text,
  });
}

/** Mails one notification of `event`: its summary, where to see the repository, and the payload. */
export async function mailNotification(
  mailer: Mailer,
  to: string,
  event: NotificationEventName,
  payload: Record<string, unknown>,
): Promise<void> {
  const summary = eventSummary(event, payload);
  const text = [
    summary,
    "",
    `Repository: ${String(payload.homepage)}`,
    "",
    "Details:",
    JSON.stringify(payload, null, 2),
    "",
    `This address receives the notifications of ${String(payload.repository)}; a repository admin can remove it.`,
  ].join("\n");
  await queueMail(mailer.env, { to, subject: summary, text });
}
