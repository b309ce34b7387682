/**
 * The one mailer (issue #15): everything Wharf mails (team invitations, account confirmation and
 * recovery, email notifications, log exports) calls `queueMail`, which hands the message to the
 * EVENTS queue as a `mail` job; the consumer (src/queues/consumer.ts) gives it to the configured
 * transport (./transports.ts) with `deliverMail`, and a failure is retried as every job is. So a
 * slow or failing mail service never delays the request that mails, nor loses the mail with it.
 *
 * Mails carry codes (invitations, confirmation, recovery): neither the job nor a failure is ever
 * logged with its text; `mailForLog` is what the logs may say.
 */
import { invalid } from "../errors/domain";
import { type MailMessage, mailMessageSchema } from "./message";
import { mailTransport } from "./transports";
import { loggableError } from "../lib/loggable-error";

export type { MailMessage } from "./message";

/** The queue job a mail travels in (part of src/queues/jobs.ts's union). */
export interface MailJob {
  type: "mail";
  message: MailMessage;
}

/** What a log line may say of a mail: its subject and the recipient's domain, never its text. */
export function mailForLog(message: MailMessage): { subject: string; toDomain: string } {
  return { subject: message.subject, toDomain: message.to.split("@").pop() ?? "" };
}

/**
 * Queues `message` for sending and waits for the queue to take it. Checked here, so a bad message
 * fails its caller (a 400, never a 500: a DomainError) rather than the consumer. A refused send is
 * logged, not thrown: the change the mail reports is committed, and, as Quay's mails, a lost one
 * is asked for again (inviting again, requesting recovery again).
 */
export async function queueMail(env: Env, message: MailMessage): Promise<void> {
  const checked = mailMessageSchema.safeParse(message);
  if (!checked.success) throw invalid(`Cannot mail this message: ${checked.error.issues[0]?.message ?? "invalid"}`);
  const job: MailJob = { type: "mail", message: checked.data };
  try {
    await env.EVENTS.send(job);
  } catch (err) {
    console.error(JSON.stringify({ msg: "mail not queued", ...mailForLog(message), err: loggableError(err) }));
  }
}

/** Sends one queued mail through the configured transport (the consumer's step for a `mail` job). */
export async function deliverMail(env: Env, message: MailMessage): Promise<void> {
  const transport = mailTransport(env);
  if (!transport) {
    // Queued while a transport was configured, consumed after it was removed: nowhere to send.
    console.warn(JSON.stringify({ msg: "mail dropped: MAIL_TRANSPORT is none", ...mailForLog(message) }));
    return;
  }
  await transport.send(message);
}
