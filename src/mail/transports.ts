/**
 * Where mail leaves Wharf, chosen by MAIL_TRANSPORT (src/config.ts):
 * - `cloudflare`: Cloudflare's Email Service through the `send_email` binding `MAIL`. Cloudflare
 *   signs (DKIM) and delivers from the onboarded domain of MAIL_FROM; no API key to keep as a
 *   secret and no request through the outbound guard, so nothing a user configures is fetched.
 * - `dev`: Wharf's local mailer. workerd has no filesystem, so the message, as an `.eml`, is PUT to
 *   the `DEV_MAILBOX` binding: a writable workerd disk service `npm start` points at
 *   `<state>/mail/` (scripts/start.mjs), one file per message, named so that `ls` sorts them by
 *   time. The workerd tests bind a temporary folder the same way and read the files back.
 * - `none`: no mail leaves; FEATURE_MAILING cannot be on (src/config.ts refuses it).
 */
import { readConfig } from "../config";
import { clock } from "../lib/clock";
import type { MailMessage } from "./message";
import { toEml } from "./mime";

export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

/** A transport that cannot work as configured: the job is retried, and the log says why. */
class MailConfigurationError extends Error {}

function cloudflare(binding: SendEmail | undefined, from: string): MailTransport {
  if (!binding) throw new MailConfigurationError("MAIL_TRANSPORT=cloudflare needs the send_email binding MAIL");
  return {
    async send(message) {
      await binding.send({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
  };
}

/** `20261206T190400123Z-<uuid>.eml`: sortable by time, unique. */
function emlName(now: number, id: string): string {
  return `${new Date(now).toISOString().replace(/[-:.]/g, "")}-${id}.eml`;
}

function dev(mailbox: Fetcher | undefined, from: string): MailTransport {
  if (!mailbox)
    throw new MailConfigurationError("MAIL_TRANSPORT=dev needs the DEV_MAILBOX binding (npm start binds it)");
  return {
    async send(message) {
      const now = clock.now();
      const id = crypto.randomUUID();
      const domain = from.split("@").pop() || "localhost";
      const eml = toEml(message, { from, date: new Date(now), messageId: `${id}@${domain}` });
      const res = await mailbox.fetch(`http://mailbox/${emlName(now, id)}`, { method: "PUT", body: eml });
      if (!res.ok) throw new Error(`the dev mailbox answered ${res.status}`);
    },
  };
}

/** The configured transport, or null when MAIL_TRANSPORT is `none`. */
export function mailTransport(env: Env): MailTransport | null {
  const config = readConfig(env);
  switch (config.MAIL_TRANSPORT) {
    case "cloudflare":
      return cloudflare(env.MAIL, config.MAIL_FROM);
    case "dev":
      return dev(env.DEV_MAILBOX, config.MAIL_FROM);
    case "none":
      return null;
  }
}
