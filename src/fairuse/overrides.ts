/**
 * Superusers' fair-use overrides per organization (`fair_use_overrides`), and the isolate's copy of
 * them that the request path reads. The whole table is small (one row per organization a superuser
 * set apart), so each isolate keeps all of it and reads it again at most every
 * {@link OVERRIDES_TTL_MS}, in the background once it has a copy: a change reaches every isolate
 * within that time (at once in the isolate that made it), and no request waits on D1 for it but an
 * isolate's very first.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { fairUseOverrides, users } from "../db/schema";
import { clock } from "../lib/clock";

export const OVERRIDES_TTL_MS = 30_000;
/** More rows than this are not kept (each further organization gets the defaults): a bound on memory. */
const MAX_OVERRIDES = 10_000;

export interface NamespaceOverride {
  /** Null: the default. 0: no budget. */
  requestsPerMinute: number | null;
  pullBytesPerHour: number | null;
}

interface Copy {
  byNamespace: Map<string, NamespaceOverride>;
  readAt: number;
}

let copy: Copy | null = null;
let reading: Promise<Copy> | null = null;

async function readAll(db: Db): Promise<Copy> {
  const rows = await db
    .select({
      namespace: users.username,
      requestsPerMinute: fairUseOverrides.requestsPerMinute,
      pullBytesPerHour: fairUseOverrides.pullBytesPerHour,
    })
    .from(fairUseOverrides)
    .innerJoin(users, eq(users.id, fairUseOverrides.namespaceId))
    .limit(MAX_OVERRIDES);
  const byNamespace = new Map(rows.map(({ namespace, ...override }) => [namespace, override]));
  return { byNamespace, readAt: clock.now() };
}

function refresh(db: Db): Promise<Copy> {
  reading ??= readAll(db)
    .then((fresh) => {
      copy = fresh;
      return fresh;
    })
    .finally(() => {
      reading = null;
    });
  return reading;
}

/**
 * Every override, as this isolate knows them: awaits D1 only when it has no copy yet; a stale copy
 * is answered while `waitUntil` reads the table again.
 */
export async function namespaceOverrides(
  db: Db,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Map<string, NamespaceOverride>> {
  if (!copy) return (await refresh(db)).byNamespace;
  if (clock.now() - copy.readAt >= OVERRIDES_TTL_MS) waitUntil(refresh(db).catch(() => undefined));
  return copy.byNamespace;
}

/** Forgets this isolate's copy: after a superuser's change, so that the isolate that made it applies it at once. */
export function forgetOverrides(): void {
  copy = null;
}
