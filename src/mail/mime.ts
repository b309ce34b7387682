/**
 * A mail as an RFC 5322 message (the `.eml` the dev mailer writes, ./transports.ts): UTF-8 text,
 * and with HTML a multipart/alternative of both. Cloudflare's Email Service takes the fields
 * themselves and builds its own, so only the local mailer needs this.
 */
import type { MailMessage } from "./message";

const CRLF = "\r\n";

/** RFC 2047: a header value with anything beyond printable ASCII as one UTF-8 encoded word. */
function headerValue(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  const bytes = new TextEncoder().encode(text);
  return `=?UTF-8?B?${btoa(String.fromCharCode(...bytes))}?=`;
}

/** Bare LFs as CRLF, as SMTP and mail readers expect; the part's own last line break is added once. */
function lines(text: string): string {
  return text.replace(/\r?\n$/, "").replace(/\r?\n/g, CRLF);
}

export interface Envelope {
  from: string;
  date: Date;
  messageId: string;
}

export function toEml(message: MailMessage, envelope: Envelope): string {
  const headers = [
    `From: ${envelope.from}`,
    `To: ${message.to}`,
    `Subject: ${headerValue(message.subject)}`,
    `Date: ${envelope.date.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${envelope.messageId}>`,
    "MIME-Version: 1.0",
  ];
  const text = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", lines(message.text)];
  if (message.html === undefined) return [...headers, ...text].join(CRLF) + CRLF;
  const boundary = `wharf-${envelope.messageId.replace(/[^A-Za-z0-9]/g, "")}`;
  const html = ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", lines(message.html)];
  return (
    [
      ...headers,
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      ...text,
      `--${boundary}`,
      ...html,
      `--${boundary}--`,
    ].join(CRLF) + CRLF
  );
}
