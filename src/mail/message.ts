/**
 * One mail, as every part of Wharf hands it to the mailer (./mailer.ts): who to, the subject, the
 * text and, optionally, an HTML rendering. The sender is not the caller's to choose: it is the
 * configured MAIL_FROM, so no flow can mail in another's name. The same schema checks the queue
 * job the mail travels in (src/queues/jobs.ts).
 */
import { z } from "zod";

// The address grammar is the one the rest of Wharf accepts for emails (zod's), with no header
// injection possible: a CR or LF could add headers or recipients to the raw message.
const headerSafe = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !/[\r\n]/.test(text), "no line breaks in a mail header");

export const mailMessageSchema = z.object({
  // 255, as the accounts' own email grammar (src/identity/users.ts emailSchema) allows.
  to: z.email().max(255),
  subject: headerSafe(998),
  text: z.string().max(64 * 1024),
  html: z
    .string()
    .max(64 * 1024)
    .optional(),
});

export type MailMessage = z.infer<typeof mailMessageSchema>;
