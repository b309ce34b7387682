/**
 * Codes mailed to an account (Quay's `EmailConfirmation`, `data/model/user.py`): a confirmation
 * code verifies an address (a new account's own, or one the user asked to change to), a recovery
 * code signs the user in so they can choose a new password. As every secret Wharf hands out, a code
 * is 64 random characters stored only as its SHA-256, used once (its row is deleted by the batch
 * that uses it, on the condition that it is still there, so two uses race to one) and expiring:
 * recovery after USER_RECOVERY_TOKEN_LIFETIME (Quay's, 30 minutes), confirmation after a day
 * (Quay's never expire; a stale one is replaced by asking again, or by recovery, which verifies).
 * Issuing a code replaces the user's earlier codes of the same purpose.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type EmailCode, emailCodes, type User, users } from "../db/schema";
import { modelError } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { randomString } from "./passwords";
import { uniqueViolation } from "./users";

export type CodePurpose = EmailCode["purpose"];

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const CODE_LENGTH = 64;
export const CONFIRMATION_LIFETIME_MS = 24 * 3600 * 1000;

/**
 * A new code of `purpose` for `user`, mailed to `email` (the event says so): for a confirmation,
 * `newEmail` is the address it changes the account to (null: it verifies the account's own).
 */
export async function issueEmailCode(
  db: Db,
  user: User,
  code: { purpose: CodePurpose; email: string; newEmail?: string | null; lifetimeMs: number },
  events: EventScope,
): Promise<string> {
  const plain = randomString(CODE_ALPHABET, CODE_LENGTH);
  const mine = and(eq(emailCodes.userId, user.id), eq(emailCodes.purpose, code.purpose));
  const event = namespaceEvent("user_email_code_issued", user.username, events.origin, {
    purpose: code.purpose,
    email: code.email,
  });
  await commitWithEvents(
    db,
    events,
    [
      db.delete(emailCodes).where(mine),
      db.insert(emailCodes).values({
        userId: user.id,
        purpose: code.purpose,
        codeHash: await sha256Hex(plain),
        newEmail: code.newEmail ?? null,
        expiresAt: clock.now() + code.lifetimeMs,
      }),
    ],
    [event],
  );
  return plain;
}

/** Quay's refusal of a code that is unknown, spent or expired (its recovery page's words). */
const invalidCode = (purpose: CodePurpose) =>
  modelError(
    purpose === "recovery"
      ? "Invalid recovery code: This code is invalid or may have already been used."
      : "Invalid confirmation code: This code is invalid or may have already been used.",
  );

export interface UsedCode {
  user: User;
  /** For a confirmed change of address: the address it replaced. */
  oldEmail: string | null;
  newEmail: string | null;
}

/**
 * Uses `code` of `purpose`: the account (a person, enabled, not being deleted) becomes verified, and
 * a confirmation carrying a new address takes it (`user_change_email`; Quay's "E-mail address
 * already used" if someone took it meanwhile). A recovery verifies too, as Quay's: whoever reads
 * the mail holds the address. Refused alike when unknown, spent or expired.
 */
export async function useEmailCode(db: Db, code: string, purpose: CodePurpose, events: EventScope): Promise<UsedCode> {
  if (code.length === 0 || code.length > 256) throw invalidCode(purpose);
  const found = await db
    .select({ code: emailCodes, user: users })
    .from(emailCodes)
    .innerJoin(users, eq(users.id, emailCodes.userId))
    .where(
      and(
        eq(emailCodes.codeHash, await sha256Hex(code)),
        eq(emailCodes.purpose, purpose),
        eq(users.kind, "user"),
        eq(users.enabled, true),
        isNull(users.deletingSince),
      ),
    )
    .get();
  if (!found || found.code.expiresAt <= clock.now()) throw invalidCode(purpose);
  const { user } = found;
  const newEmail = found.code.newEmail && found.code.newEmail !== user.email ? found.code.newEmail : null;
  const still = sql`exists (select 1 from ${emailCodes} where id = ${found.code.id})`;
  const used = namespaceEvent("user_email_code_used", user.username, events.origin, {
    purpose,
    email: newEmail ?? user.email ?? "",
  });
  const changed = newEmail
    ? [namespaceEvent("user_change_email", user.username, events.origin, { email: newEmail })]
    : [];
  let results: unknown[];
  try {
    results = await db.batch([
      conditionalEvent(db, used, still),
      ...changed.map((event) => conditionalEvent(db, event, still)),
      db
        .update(users)
        .set(newEmail ? { verified: true, email: newEmail } : { verified: true })
        .where(and(eq(users.id, user.id), still))
        .returning(),
      db.delete(emailCodes).where(eq(emailCodes.id, found.code.id)),
    ]);
  } catch (err) {
    if (uniqueViolation(err)) throw modelError("E-mail address already used");
    throw err;
  }
  if (!written(results[0])) throw invalidCode(purpose);
  events.publish([used, ...changed]);
  const updated = (results[changed.length + 1] as User[])[0] ?? user;
  return { user: updated, oldEmail: newEmail ? user.email : null, newEmail };
}
