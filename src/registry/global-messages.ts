/**
 * Quay's global messages (`endpoints/api/globalmessages.py`): notices a superuser posts for every
 * user of the registry, shown by the UI as a banner. Anyone may read them, signed in or not (Quay's
 * `getGlobalMessages` checks nothing); only superusers post and delete them.
 *
 * Quay's action log has no kind for them (it logs neither a post nor a deletion), so neither
 * emits an event here: docs/events.md lists the catalogue, and a kind of Wharf's own would be a
 * log entry no Quay script knows.
 */
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { globalMessages, type GlobalMessage } from "../db/schema";

/** Quay's enums for a message (its `CreateMessage` schema). */
export const MESSAGE_MEDIA_TYPES = ["text/plain", "text/markdown"] as const;
export const MESSAGE_SEVERITIES = ["info", "warning", "error"] as const;

export interface NewGlobalMessage {
  content: string;
  mediaType: (typeof MESSAGE_MEDIA_TYPES)[number];
  severity: (typeof MESSAGE_SEVERITIES)[number];
}

/** Every message, oldest first (Quay lists them in the order they were created). */
export async function listGlobalMessages(db: Db): Promise<GlobalMessage[]> {
  return db.select().from(globalMessages).orderBy(asc(globalMessages.id)).all();
}

export async function createGlobalMessage(db: Db, message: NewGlobalMessage): Promise<GlobalMessage> {
  const [row] = await db
    .insert(globalMessages)
    .values({ uuid: crypto.randomUUID(), ...message })
    .returning();
  return row!;
}

/**
 * Deletes message `uuid`; an unknown uuid deletes nothing and is no error, as Quay's
 * `delete_message` (a `DELETE … WHERE uuid = ?`) answers 204 either way.
 */
export async function deleteGlobalMessage(db: Db, uuid: string): Promise<void> {
  await db.delete(globalMessages).where(eq(globalMessages.uuid, uuid));
}

/** Quay's message JSON (`GlobalMessage.to_dict`). */
export function globalMessageView(message: GlobalMessage) {
  return {
    uuid: message.uuid,
    content: message.content,
    media_type: message.mediaType,
    severity: message.severity,
  };
}
