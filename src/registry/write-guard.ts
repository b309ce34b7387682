/**
 * What a push reads first under the repository's lock, in ONE D1 query (a manifest PUT's round
 * trips are counted: test/workers/v2/push-cost.test.ts): whether the repository still bears its
 * name (a delete may have come first), its state (READ_ONLY refuses: src/registry/repository-state.ts)
 * the immutability policies that apply to it, its own and its namespace's
 * (src/registry/immutability-policies.ts), and its namespace's quota rules and usage
 * (src/quota/enforcement.ts).
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { RepositoryRef } from "../events/envelope";
import { compiledPolicy } from "./immutability-policies";
import type { RepositoryState } from "./repository-state";
import { type NamespaceQuotaRules, QUOTA_COLUMNS, type QuotaColumnsRow, quotaRulesOf } from "../quota/enforcement";

export interface WriteGuard {
  state: RepositoryState;
  /** The mirror robot's account id, the one writer a MIRROR repository takes (repository-state.ts). */
  mirrorRobotId: number | null;
  /** Whether the policies make a tag of this name immutable when it is pushed, created or moved. */
  immutableByPolicy(tag: string): boolean;
  /** The namespace's quota rules and usage as this read found them; undefined without a namespace row. */
  quota: NamespaceQuotaRules | undefined;
}

interface GuardRow extends QuotaColumnsRow {
  state: RepositoryState;
  mirrorRobotId: number | null;
  policies: string;
}

/** The guard of a repository that still bears `repository.name`; undefined when it does not. */
export async function repositoryWriteGuard(db: Db, repository: RepositoryRef): Promise<WriteGuard | undefined> {
  const row = (await db.get(sql`
    select r.state as state,
      (select m.robot_user_id from repo_mirror_configs m where m.repository_id = r.id) as mirrorRobotId,
      (select json_group_array(json_object('tagPattern', p.tag_pattern, 'tagPatternMatches', p.tag_pattern_matches))
        from immutability_policies p
        where p.repository_id = r.id or (p.repository_id is null and p.namespace_id = u.id)
      ) as policies, ${QUOTA_COLUMNS}
    from repositories r
      left join users u on u.username = r.namespace
      left join namespace_quotas q on q.namespace_id = u.id
    where r.id = ${repository.id} and r.name = ${repository.name}`)) as GuardRow | undefined;
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
