/**
 * How quota and quota-limit changes commit: with their event, refused as Quay refuses them when the
 * row went away meanwhile or a unique index turns a concurrent write down.
 */
import type { SQL } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import type { RegistryEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import { uniqueViolation } from "../identity/users";
import { invalid, notFound } from "../errors/domain";

/**
 * Commits `changes` with `event` in one batch, the event written only while `present` holds (the
 * changed row still exists); Quay's 404 when it was deleted meanwhile.
 */
export async function commitWhilePresent(
  db: Db,
  events: EventScope,
  event: RegistryEvent,
  present: SQL,
  changes: Statement[],
): Promise<void> {
  const [logged] = await db.batch([conditionalEvent(db, event, present), ...changes]);
  if (!written(logged)) throw notFound();
  events.publish([event]);
}

/** `write`'s result; Quay's 400 with `message` when a unique index refuses it (a concurrent twin won). */
export async function refusingDuplicate<T>(message: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (uniqueViolation(err)) throw invalid(message);
    throw err;
  }
}
