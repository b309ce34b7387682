/**
 * Room in a cache organization's quota (Quay's `_check_image_upload_possible_or_prune`,
 * data/registry_model/registry_proxy_model.py; the seeds' "Leveraging storage quota limits in
 * proxy organizations"): before an image is cached, when the organization has a quota and the
 * image would not fit, the least recently pulled tags of the organization leave the cache (out of
 * the time machine too, as Quay's `remove_tag_from_timemachine`, so garbage collection reclaims
 * their bytes at its next pass) until what they alone held makes room. An image larger than the
 * whole quota, or one that no eviction makes room for, is refused (Quay's QuotaExceeded).
 *
 * "Least recently pulled" reads the one pull-counting mechanism (src/registry/pull-counts.ts, summed
 * into `tag_pull_stats`); a tag no counted pull reached yet ranks by when it was cached. Usage is
 * `users.storage_bytes` (src/gc/storage.ts), which falls when the collector reclaims: until then
 * the quota is over-committed, as Quay documents.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { readConfig } from "../config";
import { quotaExceeded, readQuotaRules, rejectBytes } from "../quota/enforcement";
import type { EventOrigin } from "../events/envelope";
import { clock } from "../lib/clock";
import type { Digest } from "../lib/digest";
import { repositoryObject } from "../registry/repository-object";

/** Tags looked at per eviction, least recently pulled first. */
const CANDIDATES = 100;

/** Quay's `layers_compressed_size`: the sum of an image's layer sizes; null for an index (Quay checks none). */
export function imageLayersSize(manifestBytes: Uint8Array): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch {
    return null;
  }
  const layers = (parsed as { layers?: unknown }).layers;
  if (!Array.isArray(layers)) return null;
  return layers.reduce((sum: number, layer) => sum + (Number((layer as { size?: unknown }).size) || 0), 0);
}

interface Candidate {
  tagId: number;
  repositoryId: number;
  repository: string;
  tag: string;
  digest: Digest;
  /** Bytes only this tag keeps in the namespace. */
  reclaimable: number;
}

/**
 * Bytes cache organization `namespace` may still take before the limit a cache keeps to (its
 * Reject limit, the system default, else its quota's limit_bytes, as {@link makeRoomFor}); null
 * when none applies. A layer's fill asks it: the sizes a manifest declares are the upstream's word.
 */
export async function cacheRoom(env: Env, db: Db, core: Db, namespace: string): Promise<number | null> {
  const settings = readConfig(env);
  if (!settings.FEATURE_QUOTA_MANAGEMENT) return null;
  const rules = await readQuotaRules(db, core, namespace);
  const limit = rules ? (rejectBytes(rules, settings) ?? rules.quota?.limitBytes ?? null) : null;
  return rules && limit !== null ? Math.max(0, limit - rules.usageBytes) : null;
}

/**
 * Makes room for an image of `manifestBytes` in cache organization `namespace`, or refuses it:
 * the quota's rules from `db` (`DB`), its usage and its tags from `core`, its core's database.
 * Only the cache's own repositories (created since `cacheSince`, the configuration's creation)
 * give up tags: those pushed before the organization became a cache are no cache's to evict
 * (src/proxy/lookup.ts `predatesCache`), and any member's pull would otherwise delete them.
 */
export async function makeRoomFor(
  env: Env,
  db: Db,
  core: Db,
  namespace: string,
  manifestBytes: Uint8Array,
  origin: EventOrigin,
  cacheSince: number,
): Promise<void> {
  const size = imageLayersSize(manifestBytes);
  const settings = readConfig(env);
  if (size === null || !settings.FEATURE_QUOTA_MANAGEMENT) return;
  const rules = await readQuotaRules(db, core, namespace);
  if (!rules) return;
  // Quay prunes to the quota's limit_bytes; Wharf to where pushes would be refused when that is
  // lower (a Reject limit under 100%, or the system default for a namespace without a quota).
  const limit = rejectBytes(rules, settings) ?? rules.quota?.limitBytes ?? null;
  if (limit === null) return;
  if (size > limit) throw quotaExceeded(namespace);
  const needed = rules.usageBytes + size - limit;
  if (needed <= 0) return;
  let reclaimed = 0;
  for (const candidate of await leastRecentlyPulled(core, namespace, clock.now(), cacheSince)) {
    const ref = { id: candidate.repositoryId, name: candidate.repository };
    const removed = await repositoryObject(env, candidate.repository).removeFromTimeMachine(
      ref,
      candidate.tag,
      candidate.digest,
      true,
      origin,
    );
    if (!removed.ok) continue;
    reclaimed += candidate.reclaimable;
    if (reclaimed >= needed) return;
  }
  throw quotaExceeded(namespace);
}

/**
 * The namespace's alive, visible tags, least recently pulled first, with what each alone holds:
 * all in its core's database (a shard's shadow repositories carry their `created_at`).
 */
async function leastRecentlyPulled(db: Db, namespace: string, nowMs: number, since: number): Promise<Candidate[]> {
  return db.all<Candidate>(sql`
    select t.id as tagId, r.id as repositoryId, r.name as repository, t.name as tag, m.digest as digest,
      coalesce((select sum(b.size) from blobs b
        where b.digest in (select x.digest from manifest_references x where x.manifest_id = m.id and x.kind = 'blob')
          and not exists (
            select 1 from manifest_references o
            join tags ot on ot.manifest_id = o.manifest_id
            join repositories orp on orp.id = ot.repository_id
            where o.digest = b.digest and o.kind = 'blob' and orp.namespace = ${namespace} and ot.id != t.id
              and (ot.lifetime_end_ms is null or ot.lifetime_end_ms > ${nowMs}))), 0) as reclaimable
    from tags t
    join repositories r on r.id = t.repository_id
    join manifests m on m.id = t.manifest_id
    left join tag_pull_stats s on s.repository_id = t.repository_id and s.tag = t.name
    where r.namespace = ${namespace} and r.created_at >= ${since} and t.hidden = 0
      and (t.lifetime_end_ms is null or t.lifetime_end_ms > ${nowMs})
    order by coalesce(s.last_pulled_at, t.lifetime_start_ms) asc, t.id asc
    limit ${CANDIDATES}`);
}
