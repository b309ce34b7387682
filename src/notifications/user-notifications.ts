/**
 * Quay's in-app notifications (the bell; `endpoints/api/user.py` `UserNotificationList`,
 * `UserNotification`): what a `quay_notification` method leaves for a user (src/notifications/
 * perform.ts), listed newest first without the dismissed ones, read one by one (dismissed too) and
 * dismissed or restored by their user. Quay's JSON: `id`, `organization`, `kind`, `created`,
 * `metadata`, `dismissed`.
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type User, type UserNotification, userNotifications } from "../db/schema";
import { notFound } from "../errors/domain";
import { quayDate } from "../identity/app-tokens";

export function userNotificationView(note: UserNotification) {
  let metadata: unknown = {};
  try {
    metadata = JSON.parse(note.metadata);
  } catch {
    // A row is written from a checked payload; an unreadable one shows as empty rather than failing the list.
  }
  return {
    id: note.uuid,
    organization: note.organization,
    kind: note.kind,
    created: quayDate(note.createdAt),
    metadata,
    dismissed: note.dismissed,
  };
}

/** A page of the user's notifications not dismissed, newest first; `additional` when more follow. */
export async function listUserNotifications(db: Db, user: User, page: number, limit: number) {
  const rows = await db
    .select()
    .from(userNotifications)
    .where(and(eq(userNotifications.userId, user.id), eq(userNotifications.dismissed, false)))
    .orderBy(desc(userNotifications.createdAt), desc(userNotifications.uuid))
    .limit(limit + 1)
    .offset(page * limit)
    .all();
  return { notifications: rows.slice(0, limit).map(userNotificationView), additional: rows.length > limit };
}

/** The user's notification `uuid`, dismissed or not; 404 for anyone else's. */
export async function findUserNotification(db: Db, user: User, uuid: string): Promise<UserNotification> {
  const row = await db
    .select()
    .from(userNotifications)
    .where(and(eq(userNotifications.uuid, uuid), eq(userNotifications.userId, user.id)))
    .get();
  if (!row) throw notFound();
  return row;
}

/** Dismisses (or restores) the user's notification; its new view. */
export async function dismissUserNotification(db: Db, user: User, uuid: string, dismissed: boolean) {
  const row = await findUserNotification(db, user, uuid);
  await db.update(userNotifications).set({ dismissed }).where(eq(userNotifications.uuid, row.uuid));
  return userNotificationView({ ...row, dismissed });
}
