/**
 * Quay's `repo_image_expiry` (its `notificationworker`'s expiry scan, every 300 minutes there):
 * tags that will expire within a notification's `days` are announced once each, in one delivery
 * per notification (`tags`, `expiring_in`: "5 days"). Run by the Cron Trigger every
 * {@link EXPIRY_SCAN_MINUTES} minutes, in a bounded batch: at most {@link EXPIRY_SCAN_ROWS}
 * (notification, tag) pairs per run, the rest on the next. A tag lifetime is remembered in
 * `notification_expiry_notices` once its delivery is queued (queued first: a failure in between
 * announces it twice rather than never); a tag whose expiration is moved keeps its lifetime row,
 * and so is not announced again.
 */
import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { notificationExpiryNotices, repositoryNotifications, repositories, tags } from "../db/schema";
import { queueDeliveries } from "./delivery";
import { repositoryEventData } from "./events";
import type { Delivery } from "./message";
import { NOTIFICATION_MAX_FAILURES } from "./stored-notifications";
import { payloadPlace } from "./spawn";

export const EXPIRY_SCAN_MINUTES = 5;
export const EXPIRY_SCAN_ROWS = 500;
const DAY_MS = 86_400_000;

interface Pending {
  uuid: string;
  tagId: number;
  tag: string;
  days: number;
  repository: string;
}

/** Whether the cron tick at `nowMs` runs the scan. */
export function expiryScanDue(nowMs: number): boolean {
  return Math.floor(nowMs / 60_000) % EXPIRY_SCAN_MINUTES === 0;
}

/** Announces the tags about to expire that no notification has announced yet; how many deliveries were queued. */
export async function notifyExpiringTags(env: Env, nowMs: number): Promise<number> {
  const db = database(env.DB);
  const days = sql.raw("cast(json_extract(n.event_config, '$.days') as integer)");
  const pending = (await db.all(sql`
    select n.uuid as uuid, t.id as tagId, t.name as tag, ${days} as days, r.name as repository
    from ${repositoryNotifications} n
    join ${repositories} r on r.id = n.repository_id
    join ${tags} t on t.repository_id = n.repository_id
    where n.event = 'repo_image_expiry' and n.number_of_failures < ${NOTIFICATION_MAX_FAILURES}
      and t.hidden = 0 and t.lifetime_end_ms > ${nowMs}
      and t.lifetime_end_ms <= ${nowMs} + ${days} * ${DAY_MS}
      and not exists (select 1 from ${notificationExpiryNotices} x where x.notification_uuid = n.uuid and x.tag_id = t.id)
    order by n.uuid, t.name
    limit ${EXPIRY_SCAN_ROWS}`)) as Pending[];
  const byNotification = new Map<string, Pending[]>();
  for (const row of pending) byNotification.set(row.uuid, [...(byNotification.get(row.uuid) ?? []), row]);
  const rows = await db
    .select()
    .from(repositoryNotifications)
    .where(
      sql`${repositoryNotifications.uuid} in (select value from json_each(${JSON.stringify([...byNotification.keys()])}))`,
    )
    .all();
  const deliveries: Delivery[] = [];
  for (const row of rows) {
    const found = byNotification.get(row.uuid)!;
    const place = payloadPlace(env, row, found[0]!.repository);
    const payload = repositoryEventData(place, {
      tags: [...new Set(found.map((p) => p.tag))],
      expiring_in: `${found[0]!.days} days`,
    });
    deliveries.push({ id: crypto.randomUUID(), notification: row.uuid, event: "repo_image_expiry", payload });
  }
  if (deliveries.length === 0) return 0;
  await queueDeliveries(env, deliveries);
  await db.run(sql`insert into ${notificationExpiryNotices} (notification_uuid, tag_id, created_at)
    select json_extract(value, '$[0]'), json_extract(value, '$[1]'), ${nowMs}
    from json_each(${JSON.stringify(pending.map((p) => [p.uuid, p.tagId]))}) where true
    on conflict do nothing`);
  return deliveries.length;
}
