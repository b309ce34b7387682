/**
 * Quay's auto-prune policies (`data/model/autoprune.py`): rules that end a namespace's or a
 * repository's tags by count (`number_of_tags`: keep the newest N) or by age (`creation_date`:
 * end those created more than a span ago), optionally only for tags that do, or do not, match a
 * pattern. The API manages them here; src/gc/autoprune.ts runs them.
 *
 * As in Quay: several policies per namespace and per repository, but no two alike ("Existing
 * policy with same values …"); a PUT replaces the whole policy; `value` is a number of tags or a
 * span, kept as JSON and answered back as such. Beyond Quay: `"value": "5"` is taken as 5 for
 * `number_of_tags` (Quay's own docs send it so), a pattern must pass src/lib/tag-pattern.ts (Quay
 * asks that patterns be protected against ReDoS), and a namespace or repository holds at most
 * {@link MAX_POLICIES} policies, so a pass of the pruner stays bounded.
 */
import { and, asc, eq } from "drizzle-orm";
import { conflict, invalid } from "../errors/domain";
import type { Db } from "../db/client";
import { autoprunePolicies, type AutoprunePolicy } from "../db/schema";
import { newEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { commitWithEvents } from "../identity/account-events";
import { parseDuration } from "../lib/durations";
import { compileTagPattern, tagPatternProblem, type TagMatcher } from "../lib/tag-pattern";
import { inPolicyScope, type PolicyScope, scopeRepository, writeWhilePolicyExists } from "./policy-scope";

export const AUTOPRUNE_METHODS = ["number_of_tags", "creation_date"] as const;
export type AutopruneMethod = (typeof AUTOPRUNE_METHODS)[number];

/** Policies per namespace, and per repository. */
export const MAX_POLICIES = 25;

/** A policy as the API receives it (types already checked at the edge). */
export interface PolicyRequest {
  method?: string;
  value?: number | string;
  tagPattern?: string | null;
  tagPatternMatches?: boolean;
}

/** A validated policy. */
export interface PolicyConfig {
  method: AutopruneMethod;
  value: number | string;
  tagPattern: string | null;
  tagPatternMatches: boolean;
}

/** Checks a request with Quay's messages, in Quay's order; the first problem is a 400. */
export function policyConfig(request: PolicyRequest): PolicyConfig {
  const { method, value } = request;
  if (method === undefined || value === undefined) throw invalid("Missing the following parameters: method, value");
  if (!(AUTOPRUNE_METHODS as readonly string[]).includes(method)) throw invalid("Invalid method provided");
  const valid = validValue(method as AutopruneMethod, value);
  if (valid === null) throw invalid("Invalid value given for method type");
  // Quay strips the pattern and refuses an empty one; null or absent means every tag.
  const tagPattern = typeof request.tagPattern === "string" ? request.tagPattern.trim() : null;
  if (tagPattern === "") throw invalid("tag_pattern cannot be empty");
  const problem = tagPattern === null ? null : tagPatternProblem(tagPattern);
  if (problem !== null) throw invalid(`Invalid tagPattern: ${problem}`);
  return {
    method: method as AutopruneMethod,
    value: valid,
    tagPattern,
    tagPatternMatches: request.tagPatternMatches ?? true,
  };
}

/** Quay's `valid_value`: a positive whole number of tags, or a span; null when invalid. */
function validValue(method: AutopruneMethod, value: number | string): number | string | null {
  if (method === "creation_date")
    return typeof value === "string" && parseDuration(value) !== null ? value.trim() : null;
  const count = typeof value === "string" && /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value;
  return typeof count === "number" && Number.isSafeInteger(count) && count > 0 ? count : null;
}

export async function listPolicies(db: Db, scope: PolicyScope): Promise<AutoprunePolicy[]> {
  return db
    .select()
    .from(autoprunePolicies)
    .where(inPolicyScope(autoprunePolicies, scope))
    .orderBy(asc(autoprunePolicies.createdAt), asc(autoprunePolicies.uuid))
    .all();
}

/** The policy `uuid` of this scope (another scope's answers as a missing one). */
export async function findPolicy(db: Db, scope: PolicyScope, uuid: string): Promise<AutoprunePolicy | undefined> {
  return db
    .select()
    .from(autoprunePolicies)
    .where(and(inPolicyScope(autoprunePolicies, scope), eq(autoprunePolicies.uuid, uuid)))
    .get();
}

const stored = (config: PolicyConfig) => ({
  method: config.method,
  value: JSON.stringify(config.value),
  tagPattern: config.tagPattern,
  tagPatternMatches: config.tagPatternMatches,
});

/**
 * Creates a policy. Checked, then inserted: two identical requests racing may both pass the
 * duplicate check, and their two policies then prune exactly as one would.
 */
export async function createPolicy(
  db: Db,
  scope: PolicyScope,
  config: PolicyConfig,
  events: EventScope,
): Promise<AutoprunePolicy> {
  const existing = await listPolicies(db, scope);
  const where = scope.repositoryId === null ? "namespace" : "repository";
  const row = stored(config);
  if (
    existing.some(
      (p) =>
        p.method === row.method &&
        p.value === row.value &&
        p.tagPattern === row.tagPattern &&
        p.tagPatternMatches === row.tagPatternMatches,
    )
  ) {
    throw conflict(`Existing policy with same values for this ${where}, duplicate policies are not permitted`);
  }
  if (existing.length >= MAX_POLICIES)
    throw conflict(`A ${where} may have at most ${MAX_POLICIES} auto-prune policies`);
  const uuid = crypto.randomUUID();
  const event = policyEvent("create", scope, { uuid, ...config }, events);
  const insert = db
    .insert(autoprunePolicies)
    .values({ uuid, namespaceId: scope.namespaceId, repositoryId: scope.repositoryId, ...row });
  await commitWithEvents(db, events, [insert], [event]);
  return (await findPolicy(db, scope, uuid))!;
}

/**
 * Replaces the policy (Quay's PUT sets the whole configuration), with its event; none when the
 * policy was deleted meanwhile.
 */
export async function updatePolicy(
  db: Db,
  scope: PolicyScope,
  policy: AutoprunePolicy,
  config: PolicyConfig,
  events: EventScope,
): Promise<void> {
  const event = policyEvent("update", scope, { uuid: policy.uuid, ...config }, events);
  const update = db.update(autoprunePolicies).set(stored(config)).where(eq(autoprunePolicies.uuid, policy.uuid));
  await writeWhilePolicyExists(db, autoprunePolicies, policy.uuid, event, events, update);
}

export async function deletePolicy(
  db: Db,
  scope: PolicyScope,
  policy: AutoprunePolicy,
  events: EventScope,
): Promise<void> {
  const event = policyEvent("delete", scope, policyView(policy), events);
  const remove = db.delete(autoprunePolicies).where(eq(autoprunePolicies.uuid, policy.uuid));
  await writeWhilePolicyExists(db, autoprunePolicies, policy.uuid, event, events, remove);
}

/**
 * The event of a policy change: Quay's `…_namespace_autoprune_policy` kinds for a namespace's,
 * `…_repository_autoprune_policy` (Quay's upstream names) for a repository's.
 */
function policyEvent(
  change: "create" | "update" | "delete",
  scope: PolicyScope,
  policy: ReturnType<typeof policyView>,
  events: EventScope,
) {
  const repository = scopeRepository(scope);
  const kind = `${change}_${repository ? "repository" : "namespace"}_autoprune_policy` as const;
  return newEvent(kind, { namespace: scope.namespace, repository }, events.origin, { policy });
}

/** Quay's `get_view`: `tagPattern` is null and `tagPatternMatches` true for a policy without a pattern. */
export function policyView(policy: AutoprunePolicy) {
  return {
    uuid: policy.uuid,
    method: policy.method,
    value: JSON.parse(policy.value) as number | string,
    tagPattern: policy.tagPattern,
    tagPatternMatches: policy.tagPatternMatches,
  };
}

/** A policy ready to run: its kind and bound, and which tags it considers. */
export interface RunnablePolicy {
  /** Identifies the policy across the pruner's passes (its uuid; `default` for the registry's). */
  key: string;
  method: AutopruneMethod;
  /** number_of_tags: how many to keep. */
  keep: number;
  /** creation_date: the age beyond which tags end, in milliseconds. */
  maxAgeMs: number;
  matcher: TagMatcher | null;
  matches: boolean;
}

/**
 * `config` compiled for the pruner; null for one that no longer validates (a stored pattern the
 * current rules refuse), which is then skipped rather than run unchecked.
 */
export function runnablePolicy(
  key: string,
  config: { method: AutopruneMethod; value: number | string; tagPattern?: string | null; tagPatternMatches?: boolean },
): RunnablePolicy | null {
  const value = validValue(config.method, config.value);
  if (value === null) return null;
  let matcher: TagMatcher | null = null;
  try {
    if (config.tagPattern != null) matcher = compileTagPattern(config.tagPattern);
  } catch {
    return null;
  }
  return {
    key,
    method: config.method,
    keep: config.method === "number_of_tags" ? (value as number) : 0,
    maxAgeMs: config.method === "creation_date" ? parseDuration(value as string)! * 1000 : 0,
    matcher,
    matches: config.tagPatternMatches ?? true,
  };
}

/** The stored policy compiled for the pruner (see {@link runnablePolicy}). */
export function runnableStored(policy: AutoprunePolicy): RunnablePolicy | null {
  return runnablePolicy(policy.uuid, {
    method: policy.method,
    value: JSON.parse(policy.value) as number | string,
    tagPattern: policy.tagPattern,
    tagPatternMatches: policy.tagPatternMatches,
  });
}
