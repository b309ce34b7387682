/**
 * Quay's `repo_image_expiry` (its `notificationworker`'s expiry scan, every 300 minutes there):
 * tags that will expire within a notification's `days` are announced once each, in one delivery
 * per notification (`tags`, `expiring_in`: "5 days"). Run by the Cron Trigger every
 * {@link EXPIRY_SCAN_MINUTES} minutes, in a bounded batch: at most {@link EXPIRY_SCAN_ROWS}
 * (notification, tag) pairs of at most 100 notifications per run, the rest on the next (a cursor
 * by notification uuid). A tag lifetime is remembered in
 * `notification_expiry_notices` once its delivery is queued (queued first: a failure in between
 * announces it twice rather than never); a tag whose expiration is moved keeps its lifetime row,
 * and so is not announced again.
 *
 * The notifications are `DB`'s, the tags are on their namespace's core
 * (docs/sharding-the-registry-core.md §2): the notifications are read from `DB`, then each one's
 * expiring tags from its namespace's core, in pages by name, and the notices already recorded for
 * those names from `DB`. A notice names the lifetime by tag name and start (src/db/schema.ts says
 * why not by tag id); migration 0036 kept the old notices whose tag it found in `DB`, so a tag
 * announced before it whose row was elsewhere may be announced once more.
 */
import { sql } from "drizzle-orm";
import { database, type Db } from "../db/client";
import { coreShardOf } from "../db/core-shards";
import { notificationExpiryNotices, repositoryNotifications, repositories, tags } from "../db/schema";
import { readCursor, writeCursor } from "../gc/grace";
import { namespaceOf } from "../registry/repository-name";
import { queueDeliveries } from "./delivery";
import { repositoryEventData } from "./events";
import type { Delivery } from "./message";
import { NOTIFICATION_MAX_FAILURES } from "./stored-notifications";
import { payloadPlace } from "./spawn";

export const EXPIRY_SCAN_MINUTES = 5;
export const EXPIRY_SCAN_ROWS = 500;
const DAY_MS = 86_400_000;
/** Expiring tags read from a core per query. */
const PAGE = 100;
/** Notifications looked at per run, and where the round stands (a `gc_state` cursor). */
const NOTIFICATIONS_PER_RUN = 100;
const CURSOR = "expiry-notices";

interface Watching {
  uuid: string;
  repositoryId: number;
  repository: string;
  days: number;
}

interface Pending {
  uuid: string;
  tag: string;
  startMs: number;
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
  // A bounded number of notifications per run, from where the previous run stopped: each costs a
  // query on its core, and a run's queries are bounded.
  const after = (await readCursor(db, CURSOR)) ?? "";
  const watching = (await db.all(sql`
    select n.uuid as uuid, r.id as repositoryId, r.name as repository, ${days} as days
    from ${repositoryNotifications} n
    join ${repositories} r on r.id = n.repository_id
    where n.event = 'repo_image_expiry' and n.number_of_failures < ${NOTIFICATION_MAX_FAILURES}
      and n.uuid > ${after}
    order by n.uuid
    limit ${NOTIFICATIONS_PER_RUN}`)) as Watching[];
  const pending: Pending[] = [];
  // The last notification whose expiring tags were all taken: the next run starts after it.
  let done: string | null = null;
  let cut = false;
  for (const notification of watching) {
    const room = EXPIRY_SCAN_ROWS - pending.length;
    const core = database((await coreShardOf(env, namespaceOf(notification.repository))).binding);
    const found = await unannounced(db, core, notification, nowMs, room + 1);
    pending.push(...found.slice(0, room));
    if (found.length > room) {
      cut = true;
      break;
    }
    done = notification.uuid;
  }
  const more = cut || watching.length === NOTIFICATIONS_PER_RUN;
  // Saved once the announcements are recorded: a failure before repeats these notifications.
  const saveCursor = () => writeCursor(db, CURSOR, more ? (done ?? (after || null)) : null, nowMs);
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
  if (deliveries.length === 0) {
    await saveCursor();
    return 0;
  }
  await queueDeliveries(env, deliveries);
  await db.run(sql`insert into ${notificationExpiryNotices} (notification_uuid, tag_name, lifetime_start_ms, created_at)
    select json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ${nowMs}
    from json_each(${JSON.stringify(pending.map((p) => [p.uuid, p.tag, p.startMs]))}) where true
    on conflict do nothing`);
  await saveCursor();
  return deliveries.length;
}

/**
 * Up to `limit` tags of `notification`'s repository expiring within its `days`, read from `core`
 * by name, that `DB` (`db`) has no notice of yet.
 */
async function unannounced(db: Db, core: Db, notification: Watching, nowMs: number, limit: number): Promise<Pending[]> {
  const { uuid, repositoryId, repository, days } = notification;
  const found: Pending[] = [];
  let after: string | undefined;
  while (found.length < limit) {
    const page = await core.all<{ tag: string; startMs: number }>(sql`
      select t.name as tag, t.lifetime_start_ms as startMs from ${tags} t
      where t.repository_id = ${repositoryId} and t.hidden = 0 and t.lifetime_end_ms > ${nowMs}
        and t.lifetime_end_ms <= ${nowMs} + ${days} * ${DAY_MS}
        ${after === undefined ? sql`` : sql`and t.name > ${after}`}
      order by t.name, t.lifetime_start_ms
      limit ${PAGE}`);
    if (page.length === 0) break;
    const announced = await db.all<{ tag: string; startMs: number }>(sql`
      select tag_name as tag, lifetime_start_ms as startMs from ${notificationExpiryNotices}
      where notification_uuid = ${uuid}
        and tag_name in (select value from json_each(${JSON.stringify(page.map((p) => p.tag))}))`);
    const seen = new Set(announced.map((a) => `${a.startMs}:${a.tag}`));
    for (const tag of page) {
      if (found.length >= limit) break;
      if (!seen.has(`${tag.startMs}:${tag.tag}`)) found.push({ uuid, ...tag, days, repository });
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.tag;
  }
  return found;
}
