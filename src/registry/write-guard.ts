/**
 * What a push reads first under the repository's lock, in ONE D1 query (a manifest PUT sends it in
 * one batch with its other reads there, src/registry/commit-reads.ts; its round trips are counted:
 * test/workers/v2/push-cost.test.ts): whether the repository still bears its
 * name (a delete may have come first), its state (READ_ONLY refuses: src/registry/repository-state.ts)
 * the immutability policies that apply to it, its own and its namespace's
 * (src/registry/immutability-policies.ts), and its namespace's quota rules and usage
 * (src/quota/enforcement.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { namespaceQuotas, repositories, users } from "../db/schema";
import type { Db } from "../db/client";
import type { RepositoryRef } from "../events/envelope";
import { compiledPolicy } from "./immutability-policies";
import type { RepositoryState } from "./repository-state";
import { type NamespaceQuotaRules, type QuotaColumnsRow, quotaRulesOf } from "../quota/enforcement";

export interface WriteGuard {
  state: RepositoryState;
  /** The mirror robot's account id, the one writer a MIRROR repository takes (repository-state.ts). */
  mirrorRobotId: number | null;
  /** Whether the policies make a tag of this name immutable when it is pushed, created or moved. */
  immutableByPolicy(tag: string): boolean;
  /** The namespace's quota rules and usage as this read found them; undefined without a namespace row. */
  quota: NamespaceQuotaRules | undefined;
}

/**
 * The guard's read as a query builder, so a commit can send it in one D1 batch with its other
 * reads under the lock (src/registry/commit-reads.ts). The quota columns are those of
 * {@link QUOTA_COLUMNS}, by the same names.
 */
export function writeGuardQuery(db: Db, repository: RepositoryRef) {
  return db
    .select({
      state: repositories.state,
      mirrorRobotId: sql<number | null>`(select m.robot_user_id from repo_mirror_configs m
        where m.repository_id = ${repositories.id})`.as("mirror_robot_id"),
      policies: sql<string>`(select json_group_array(json_object('tagPattern', p.tag_pattern,
          'tagPatternMatches', p.tag_pattern_matches))
        from immutability_policies p
        where p.repository_id = ${repositories.id} or (p.repository_id is null and p.namespace_id = ${users.id}))`.as(
        "policies",
      ),
      // Named apart: in a batch D1 answers rows as objects, where two columns named `id` collide.
      quota_namespace_id: sql<number | null>`${users.id}`.as("quota_namespace_id"),
      quota_usage: sql<number | null>`${users.storageBytes}`.as("quota_usage"),
      quota_id: sql<number | null>`${namespaceQuotas.id}`.as("quota_id"),
      quota_limit_bytes: sql<number | null>`${namespaceQuotas.limitBytes}`.as("quota_limit_bytes"),
      quota_limits: sql<string | null>`(select json_group_array(json_object('id', l.id, 'type', l.type,
          'thresholdPercent', l.threshold_percent))
        from quota_limits l where l.quota_id = ${namespaceQuotas.id})`.as("quota_limits"),
    })
    .from(repositories)
    .leftJoin(users, eq(users.username, repositories.namespace))
    .leftJoin(namespaceQuotas, eq(namespaceQuotas.namespaceId, users.id))
    .where(and(eq(repositories.id, repository.id), eq(repositories.name, repository.name)));
}

type GuardRow = QuotaColumnsRow & { state: RepositoryState; mirrorRobotId: number | null; policies: string };

/** The guard a {@link writeGuardQuery} row gives; undefined without a row (the name is gone). */
export function writeGuardOf(row: GuardRow | undefined): WriteGuard | undefined {
  if (!row) return undefined;
  const stored = JSON.parse(row.policies) as Array<{ tagPattern: string; tagPatternMatches: number }>;
  const policies = stored
    .map((p) => compiledPolicy({ tagPattern: p.tagPattern, tagPatternMatches: p.tagPatternMatches === 1 }))
    .filter((p) => p !== null);
  return {
    state: row.state,
    mirrorRobotId: row.mirrorRobotId,
    // Quay's evaluate_immutability_policies: any policy that covers the name makes it immutable.
    immutableByPolicy: (tag) => policies.some((p) => p.covers(tag)),
    quota: quotaRulesOf(row),
  };
}

/** The guard of a repository that still bears `repository.name`; undefined when it does not. */
export async function repositoryWriteGuard(db: Db, repository: RepositoryRef): Promise<WriteGuard | undefined> {
  return writeGuardOf(await writeGuardQuery(db, repository).get());
}
