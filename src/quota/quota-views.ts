/**
 * What Quay's API shows of quotas: `quota_view` and `limit_view` (endpoints/api/namespacequota.py),
 * and the `quota_report` of a namespace and of a repository (data/model/namespacequota.py
 * `get_quota_for_view`, `get_repo_quota_for_view`). Usage is read, never counted here:
 * users.storage_bytes and repositories.storage_bytes are kept exact at every commit, in the
 * database of the namespace's registry core (docs/sharding-the-registry-core.md §0): for a
 * namespace whose core is on a shard, the shard's shadow rows count and `DB`'s copy is stale, so
 * the routes hand these views namespaces read through {@link withCoreUsage}.
 */
import { eq, inArray } from "drizzle-orm";
import { idChunks, shardedGroups } from "../db/core-fan-out";
import { database, type Db } from "../db/client";
import { type NamespaceQuota, namespaceQuotas, type QuotaLimit, quotaLimits, type User, users } from "../db/schema";
import { humanBytes } from "./byte-sizes";
import { listLimits } from "./quota-limits";
import { listQuotas } from "./quotas";

/** The configuration the views read (src/config.ts). */
export interface QuotaSettings {
  FEATURE_QUOTA_MANAGEMENT: boolean;
  DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: number;
}

/** Quay's `limit_view`. */
export function limitView(limit: QuotaLimit) {
  return { id: limit.id, type: limit.type, limit_percent: limit.thresholdPercent };
}

/**
 * Quay's `quota_view`: the quota with its limits, or (`quota` null) the system default as a quota
 * without id or limits, `default_config: true`.
 */
export function quotaView(quota: NamespaceQuota | null, limits: QuotaLimit[], settings: QuotaSettings) {
  const systemDefault = settings.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES;
  const limitBytes = quota ? quota.limitBytes : systemDefault;
  return {
    id: quota ? quota.id : null,
    limit_bytes: limitBytes,
    limit: humanBytes(limitBytes),
    default_config: quota === null,
    limits: limits.map(limitView),
    default_config_exists: systemDefault !== 0,
  };
}

/** One quota with its limits read. */
export async function storedQuotaView(db: Db, quota: NamespaceQuota, settings: QuotaSettings) {
  return quotaView(quota, await listLimits(db, quota), settings);
}

/** The namespace's quotas as views (none or one). */
export async function quotaViews(db: Db, namespace: User, settings: QuotaSettings) {
  return Promise.all((await listQuotas(db, namespace)).map((q) => storedQuotaView(db, q, settings)));
}

/**
 * Quay's `listOrganizationQuota`: the organization's quota, or the system default when it has none
 * and one is configured, or nothing.
 */
export async function quotaViewsOrDefault(db: Db, namespace: User, settings: QuotaSettings) {
  const views = await quotaViews(db, namespace, settings);
  if (views.length === 0 && settings.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES !== 0) return [quotaView(null, [], settings)];
  return views;
}

/** The bytes the namespace may hold: its quota's, else the system default's, else null (Quay's `configured_quota`). */
function configuredQuota(quota: NamespaceQuota | undefined, settings: QuotaSettings): number | null {
  if (quota) return quota.limitBytes;
  return settings.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES !== 0 ? settings.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES : null;
}

/**
 * Quay's namespace `quota_report`. Quay's backfill worker has nothing to do in Wharf (usage is exact
 * from the first push), so `backfill_status` (and its older name `running_backfill`) is `complete`.
 */
export async function namespaceQuotaReport(db: Db, namespace: User, settings: QuotaSettings) {
  const [quota] = await listQuotas(db, namespace);
  return {
    quota_bytes: namespace.storageBytes,
    configured_quota: configuredQuota(quota, settings),
    running_backfill: "complete",
    backfill_status: "complete",
  };
}

/**
 * `quotas` and `quota_report`, as Quay adds them to an organization's view (members), the user's own
 * view and the superuser's listings with FEATURE_QUOTA_MANAGEMENT; nothing with it off.
 */
export async function namespaceQuotaFields(db: Db, namespace: User, settings: QuotaSettings) {
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return {};
  return {
    quotas: await quotaViews(db, namespace, settings),
    quota_report: await namespaceQuotaReport(db, namespace, settings),
  };
}

/**
 * Quay's repository `quota_report` for each of `repositories` (one page of a listing): the
 * repository's bytes and its namespace's configured quota.
 */
export async function repositoryQuotaReports(
  db: Db,
  repositories: readonly { id: number; namespace: string; storageBytes: number }[],
  settings: QuotaSettings,
): Promise<Map<number, { quota_bytes: number; configured_quota: number | null }>> {
  const names = [...new Set(repositories.map((r) => r.namespace))];
  const quotas =
    names.length === 0
      ? []
      : await db
          .select({ namespace: users.username, quota: namespaceQuotas })
          .from(namespaceQuotas)
          .innerJoin(users, eq(users.id, namespaceQuotas.namespaceId))
          .where(inArray(users.username, names))
          .all();
  const byNamespace = new Map(quotas.map((q) => [q.namespace, q.quota]));
  return new Map(
    repositories.map((r) => [
      r.id,
      { quota_bytes: r.storageBytes, configured_quota: configuredQuota(byNamespace.get(r.namespace), settings) },
    ]),
  );
}

/**
 * `namespaces` with the usage their core's database counts (`users.storage_bytes` of the shard's
 * shadow, 0 without one: nothing stored there yet), one query per shard holding some of them; the
 * same objects when FEATURE_QUOTA_MANAGEMENT is off (no view shows usage then) or every core is in
 * `DB`.
 */
export async function withCoreUsage<T extends User>(
  env: Env,
  namespaces: readonly T[],
  settings: QuotaSettings,
): Promise<T[]> {
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return [...namespaces];
  const usage = new Map<number, number>();
  for (const { shard, items } of await shardedGroups(env, namespaces, (n) => n.username))
    for (const ids of idChunks(items.map((n) => n.id))) {
      for (const id of ids) usage.set(id, 0);
      const rows = await database(shard.binding)
        .select({ id: users.id, bytes: users.storageBytes })
        .from(users)
        .where(inArray(users.id, ids))
        .all();
      for (const row of rows) usage.set(row.id, row.bytes);
    }
  if (usage.size === 0) return [...namespaces];
  return namespaces.map((n) => (usage.has(n.id) ? { ...n, storageBytes: usage.get(n.id)! } : n));
}

/** {@link withCoreUsage} of one namespace. */
export async function namespaceWithCoreUsage<T extends User>(env: Env, namespace: T, settings: QuotaSettings) {
  return (await withCoreUsage(env, [namespace], settings))[0]!;
}

/**
 * {@link namespaceQuotaFields} for many namespaces at once (the superuser's listings, one page or
 * every account), by namespace id: a few queries, not two per namespace.
 */
export async function namespaceQuotaFieldsOf(
  db: Db,
  namespaces: readonly User[],
  settings: QuotaSettings,
): Promise<Map<number, Record<string, unknown>>> {
  const fields = new Map<number, Record<string, unknown>>();
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return fields;
  const quotas: NamespaceQuota[] = [];
  for (const ids of idChunks(namespaces.map((n) => n.id)))
    quotas.push(...(await db.select().from(namespaceQuotas).where(inArray(namespaceQuotas.namespaceId, ids)).all()));
  const limits: QuotaLimit[] = [];
  for (const ids of idChunks(quotas.map((q) => q.id)))
    limits.push(...(await db.select().from(quotaLimits).where(inArray(quotaLimits.quotaId, ids)).all()));
  for (const namespace of namespaces) {
    const quota = quotas.find((q) => q.namespaceId === namespace.id);
    const own = quota ? limits.filter((l) => l.quotaId === quota.id).sort((a, b) => a.id - b.id) : [];
    fields.set(namespace.id, {
      quotas: quota ? [quotaView(quota, own, settings)] : [],
      quota_report: {
        quota_bytes: namespace.storageBytes,
        configured_quota: configuredQuota(quota, settings),
        running_backfill: "complete",
        backfill_status: "complete",
      },
    });
  }
  return fields;
}
