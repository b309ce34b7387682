/**
 * Quota enforcement (Quay's `namespacequota.check_limits` and its callers in endpoints/v2): a
 * namespace's Reject limit, or DEFAULT_SYSTEM_REJECT_QUOTA_BYTES for a namespace without a quota,
 * refuses an upload that starts when usage is already at or past it, and a manifest whose bytes
 * would take usage past it, with Quay's DENIED "Quota has been exceeded on namespace"
 * (src/routes/v2/errors.ts maps the `quota_exceeded` kind). Crossing a Warning or the Reject
 * threshold emits `quota_warning` / `quota_error` in the batch of the commit that crossed it.
 *
 * The manifest check is a statement of the commit's own batch (see {@link refusalStatement}), so
 * it reads the usage that the same transaction then raises: concurrent pushes into one namespace,
 * whatever their repositories, can never together pass the limit (src/quota/usage.ts says why the
 * usage itself is exact).
 */
import { type SQL, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { DomainError } from "../errors/domain";
import { newEvent, type RegistryEvent } from "../events/catalogue";
import type { EventOrigin } from "../events/envelope";
import { addedBytes, type ManifestBytes, namespaceUsage } from "./usage";

/** The two settings enforcement reads (src/config.ts). */
export type QuotaSettings = Pick<Config, "FEATURE_QUOTA_MANAGEMENT" | "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES">;

export interface QuotaLimitRule {
  id: number;
  type: "Warning" | "Reject";
  thresholdPercent: number;
}

/** A namespace's quota as one read returns it, with its usage at that moment. */
export interface NamespaceQuotaRules {
  namespaceId: number;
  usageBytes: number;
  /** The namespace's quota, null without one. */
  quota: { id: number; limitBytes: number; limits: QuotaLimitRule[] } | null;
}

/**
 * The columns that read a namespace's quota rules, for a query in which `u` is the namespace's
 * `users` row and `q` its `namespace_quotas` row (left joined): one read, joined to a read the
 * caller makes anyway (src/registry/write-guard.ts).
 */
export const QUOTA_COLUMNS = sql.raw(`u.id as quota_namespace_id, u.storage_bytes as quota_usage,
  q.id as quota_id, q.limit_bytes as quota_limit_bytes,
  (select json_group_array(json_object('id', l.id, 'type', l.type, 'thresholdPercent', l.threshold_percent))
    from quota_limits l where l.quota_id = q.id) as quota_limits`);

export interface QuotaColumnsRow {
  quota_namespace_id: number | null;
  quota_usage: number | null;
  quota_id: number | null;
  quota_limit_bytes: number | null;
  quota_limits: string | null;
}

/** The rules {@link QUOTA_COLUMNS} read; undefined when the namespace has no row. */
export function quotaRulesOf(row: QuotaColumnsRow): NamespaceQuotaRules | undefined {
  if (row.quota_namespace_id === null) return undefined;
  const quota =
    row.quota_id === null
      ? null
      : {
          id: row.quota_id,
          limitBytes: row.quota_limit_bytes ?? 0,
          limits: JSON.parse(row.quota_limits ?? "[]") as QuotaLimitRule[],
        };
  return { namespaceId: row.quota_namespace_id, usageBytes: row.quota_usage ?? 0, quota };
}

/**
 * The namespace's quota rules (from `db`, `DB`) and usage (from `core`, the database holding its
 * core: the shard's shadow `users` row counts its bytes there, none before its first); one D1 read
 * when `core` is `db` (the same client when the core is in `DB`), two at once otherwise.
 * Undefined for an unknown namespace.
 */
export async function readQuotaRules(db: Db, core: Db, namespace: string): Promise<NamespaceQuotaRules | undefined> {
  const rules = db.get<QuotaColumnsRow | undefined>(sql`select ${QUOTA_COLUMNS}
    from users u left join namespace_quotas q on q.namespace_id = u.id where u.username = ${namespace}`);
  if (core === db) {
    const row = await rules;
    return row ? quotaRulesOf(row) : undefined;
  }
  const [row, usage] = await Promise.all([
    rules,
    core.get<{ bytes: number } | undefined>(
      sql`select storage_bytes as bytes from users where username = ${namespace}`,
    ),
  ]);
  return row ? quotaRulesOf({ ...row, quota_usage: usage?.bytes ?? 0 }) : undefined;
}

/** Bytes a limit allows: Quay's `int(limit_bytes * percent_of_limit / 100)`. */
export function thresholdBytes(limitBytes: number, thresholdPercent: number): number {
  return Math.floor((limitBytes * thresholdPercent) / 100);
}

/**
 * The usage at which pushes that add bytes are refused: the quota's Reject limit, or, for a
 * namespace with no quota, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (0: none). A quota without a Reject
 * limit refuses nothing (Quay applies the system default only to namespaces without a quota).
 * Null when nothing is refused, and always with FEATURE_QUOTA_MANAGEMENT off.
 */
export function rejectBytes(rules: NamespaceQuotaRules, settings: QuotaSettings): number | null {
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return null;
  if (rules.quota === null) {
    const fallback = settings.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES;
    return fallback > 0 ? fallback : null;
  }
  const reject = rules.quota.limits.find((limit) => limit.type === "Reject");
  return reject ? thresholdBytes(rules.quota.limitBytes, reject.thresholdPercent) : null;
}

/**
 * How many bytes namespace `namespace` may still add before its Reject limit (0 when at or past
 * it); null when no limit applies (no quota and no system default, feature off, unknown
 * namespace). One D1 read ({@link readQuotaRules}). For callers that are about to store content
 * in a namespace, such as the proxy cache before caching what it fetched (it may evict first, or
 * not cache).
 */
export async function namespaceRoom(
  db: Db,
  core: Db,
  settings: QuotaSettings,
  namespace: string,
): Promise<number | null> {
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return null;
  const rules = await readQuotaRules(db, core, namespace);
  if (!rules) return null;
  const reject = rejectBytes(rules, settings);
  return reject === null ? null : Math.max(0, reject - rules.usageBytes);
}

/** Quay's QuotaExceeded: DENIED, "Quota has been exceeded on namespace", 403 on /v2. */
export function quotaExceeded(namespace: string): DomainError {
  return new DomainError("quota_exceeded", { detail: { namespace } });
}

/**
 * Refuses an upload that starts (`POST /v2/<name>/blobs/uploads/`, monolithic and mount
 * included) when the namespace's usage is already at or past its Reject limit, as Quay's
 * `start_blob_upload` does before anything is created. One D1 read ({@link readQuotaRules}), with
 * the feature on.
 */
export async function requireUploadRoom(db: Db, core: Db, settings: QuotaSettings, namespace: string): Promise<void> {
  if ((await namespaceRoom(db, core, settings, namespace)) === 0) throw quotaExceeded(namespace);
}

/**
 * The statement that aborts a manifest commit's batch when its bytes would take the namespace past
 * `reject` bytes: it inserts into `quota_refusals`, whose CHECK no row passes, exactly then. Its
 * condition reads the usage in the batch's own transaction, before the batch's charge raises it.
 * A manifest that adds nothing (a tag of a manifest the namespace holds) always passes, even over
 * the limit: Quay refuses only what needs room.
 */
export function refusalStatement(namespaceId: number, namespace: string, manifest: ManifestBytes, reject: number): SQL {
  const added = addedBytes({ namespace }, manifest);
  return sql`insert into quota_refusals (namespace_id)
    select ${namespaceId} where ${added} > 0 and ${namespaceUsage(namespace)} + ${added} > ${reject}`;
}

/** Whether `err` is the failure of a {@link refusalStatement} (D1 names the failed CHECK). */
export function isQuotaRefusal(err: unknown): boolean {
  return err instanceof Error && /CHECK constraint failed: quota_exceeded/.test(`${err.message} ${err.cause ?? ""}`);
}

/** A crossing event and the condition under which the commit's batch writes it. */
export interface CrossingEvent {
  event: RegistryEvent;
  onlyIf: SQL;
  computed: Record<string, SQL>;
}

/**
 * The events a manifest commit emits when its bytes take usage from below a limit's threshold to
 * or past it: `quota_warning` for a Warning limit, `quota_error` for the Reject limit. Each is
 * written by the batch only when the crossing happens, computed against the usage before the
 * batch's charge, so one commit crosses a threshold once however pushes interleave. None with the
 * feature off or without a quota (the events name the quota and its limit).
 */
export function crossingEvents(
  rules: NamespaceQuotaRules,
  settings: QuotaSettings,
  namespace: string,
  manifest: ManifestBytes,
  origin: EventOrigin,
  nowMs: number,
): CrossingEvent[] {
  const quota = rules.quota;
  if (!settings.FEATURE_QUOTA_MANAGEMENT || quota === null || quota.limits.length === 0) return [];
  const before = namespaceUsage(namespace);
  const added = addedBytes({ namespace }, manifest);
  return quota.limits.map((limit) => {
    const threshold = thresholdBytes(quota.limitBytes, limit.thresholdPercent);
    const kind = limit.type === "Warning" ? "quota_warning" : "quota_error";
    const data = {
      quotaId: quota.id,
      limitId: limit.id,
      thresholdPercent: limit.thresholdPercent,
      usageBytes: 0,
      limitBytes: quota.limitBytes,
    };
    const event = newEvent(kind, { namespace, repository: null }, origin, data, nowMs);
    return {
      event,
      onlyIf: sql`${before} < ${threshold} and ${before} + ${added} >= ${threshold}`,
      computed: { "$.data.usageBytes": sql`${before} + ${added}` },
    };
  });
}
