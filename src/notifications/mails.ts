/**
 * What repository notifications mail, through the one mailer (src/mail/): the verification of an
 * address (Quay's `send_repo_authorization_email`, its subject and `/authrepoemail?code=…` link)
 * and an `email` notification (Quay's `EmailMethod`: the event's summary as the subject).
 */
import { queueMail } from "../mail/mailer";
import type { Mailer } from "../mail/quay-mails";

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

/**
 * Mails one notification: its summary (Quay's subject), where to see the repository or namespace,
 * and the payload. A repository's goes to an address its admin set; a namespace's to its admins.
 */
export async function mailNotification(
  mailer: Mailer,
  to: string,
  summary: string,
  payload: Record<string, unknown>,
): Promise<void> {
  const repository = typeof payload.repository === "string" ? payload.repository : null;
  const text = [
    summary,
    "",
    `${repository ? "Repository" : "Namespace"}: ${String(payload.homepage)}`,
    "",
    "Details:",
    JSON.stringify(payload, null, 2),
    "",
    repository
      ? `This address receives the notifications of ${repository}; a repository admin can remove it.`
      : `You administer ${String(payload.namespace)}, which has a notification that mails its administrators; an administrator can remove it.`,
  ].join("\n");
  await queueMail(mailer.env, { to, subject: summary, text });
}

/**
 * Mails an administrator of a namespace that crossed a quota limit (issue #16: a crossing
 * notifies by mail as well as in-app; Quay's own mail for it is the `email` namespace
 * notification's). The subject is Quay's summary of the event; `homepage` is left out when no
 * public origin is known (SERVER_HOSTNAME unset: a crossing has no request to take one from).
 */
export async function mailQuotaCrossing(
  mailer: Mailer,
  to: string,
  crossing: { summary: string; error: boolean; payload: Record<string, unknown> },
): Promise<void> {
  const { summary, error, payload } = crossing;
  const text = [
    `${summary}.`,
    "",
    `Usage: ${String(payload.usage_bytes_formatted)} of ${String(payload.limit_bytes_formatted)} (${String(payload.usage_percent)}%); this limit is at ${String(payload.threshold_percent)}%.`,
    error
      ? "Pushes that add data to the namespace are refused until its usage falls below the limit (deleted tags free their space once garbage collection has run)."
      : "Pushes still succeed; a Reject limit, if the quota has one, refuses them once reached.",
    ...(typeof payload.homepage === "string" ? ["", `Namespace: ${payload.homepage}`] : []),
    "",
    `You receive this as an administrator of ${String(payload.namespace)}.`,
  ].join("\n");
  await queueMail(mailer.env, { to, subject: `[${mailer.title}] ${summary}`, text });
}
