/**
 * Quay's immutability policies (`data/model/immutability.py`, `endpoints/api/immutability_policy.py`):
 * rules of an organization or of one repository that make tags immutable by name. A policy is a
 * `tagPattern` (a regular expression matched from the tag's start, as Python's `re.match`) and
 * `tagPatternMatches` (true: tags that match become immutable; false: those that do not). What
 * they do to tags is src/registry/tag-immutability.ts.
 *
 * As in Quay: several policies per namespace and per repository, but not two with the same
 * pattern ("A policy with the same tag_pattern already exists"); a PUT replaces the policy; the
 * pattern is stripped, required and at most 256 characters. Beyond Quay: a pattern must pass
 * src/lib/tag-pattern.ts (no backtracking engine ever runs it; what it refuses is Quay's
 * "Invalid regex pattern: …" 400), and a namespace or repository holds at most
 * {@link MAX_IMMUTABILITY_POLICIES}, so evaluating them on every push stays cheap.
 */
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type ImmutabilityPolicy, immutabilityPolicies } from "../db/schema";
import { conflict, invalid } from "../errors/domain";
import { newEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { commitWithEvents } from "../identity/account-events";
import { compileTagPattern, MAX_TAG_PATTERN_LENGTH, TagPatternError, type TagMatcher } from "../lib/tag-pattern";
import {
  appliesToRepository,
  inPolicyScope,
  type PolicyScope,
  scopeRepository,
  writeWhilePolicyExists,
} from "./policy-scope";

/** Policies per namespace, and per repository. */
export const MAX_IMMUTABILITY_POLICIES = 25;

/** A policy as the API receives it (types checked at the edge). */
export interface ImmutabilityRequest {
  tagPattern?: string | null;
  tagPatternMatches?: boolean;
}

export interface ImmutabilityConfig {
  tagPattern: string;
  tagPatternMatches: boolean;
}

/** Quay's `_validate_policy`, with its messages (each a 400). */
export function immutabilityConfig(request: ImmutabilityRequest): ImmutabilityConfig {
  const tagPattern = typeof request.tagPattern === "string" ? request.tagPattern.trim() : "";
  if (tagPattern === "") throw invalid("tag_pattern is required and must be a non-empty string");
  if (tagPattern.length > MAX_TAG_PATTERN_LENGTH)
    throw invalid(`tag_pattern must be ${MAX_TAG_PATTERN_LENGTH} characters or less`);
  try {
    compileTagPattern(tagPattern, { from: "start" });
  } catch (err) {
    if (err instanceof TagPatternError) throw invalid(`Invalid regex pattern: ${err.message}`);
    throw err;
  }
  return { tagPattern, tagPatternMatches: request.tagPatternMatches ?? true };
}

/** Quay's `get_view`. */
export function immutabilityView(policy: Pick<ImmutabilityPolicy, "uuid" | "tagPattern" | "tagPatternMatches">) {
  return { uuid: policy.uuid, tagPattern: policy.tagPattern, tagPatternMatches: policy.tagPatternMatches };
}

/**
 * A stored policy compiled: `covers(name)` says whether it makes a tag of that name immutable
 * (Quay's `_matches_policy`); null for a pattern the current rules refuse (it then covers nothing).
 */
export function compiledPolicy(policy: ImmutabilityConfig): { covers: (name: string) => boolean } | null {
  let matcher: TagMatcher;
  try {
    matcher = compileTagPattern(policy.tagPattern, { from: "start" });
  } catch {
    return null;
  }
  return { covers: (name) => matcher.test(name) === policy.tagPatternMatches };
}

export async function listImmutabilityPolicies(db: Db, scope: PolicyScope): Promise<ImmutabilityPolicy[]> {
  return db
    .select()
    .from(immutabilityPolicies)
    .where(inPolicyScope(immutabilityPolicies, scope))
    .orderBy(asc(immutabilityPolicies.createdAt), asc(immutabilityPolicies.uuid))
    .all();
}

/** Every policy that applies to the repository: its own and its namespace's. */
export async function policiesOfRepository(
  db: Db,
  repository: { id: number; namespaceId: number },
): Promise<ImmutabilityPolicy[]> {
  return db.select().from(immutabilityPolicies).where(appliesToRepository(immutabilityPolicies, repository)).all();
}

export async function findImmutabilityPolicy(
  db: Db,
  scope: PolicyScope,
  uuid: string,
): Promise<ImmutabilityPolicy | undefined> {
  return db
    .select()
    .from(immutabilityPolicies)
    .where(and(inPolicyScope(immutabilityPolicies, scope), eq(immutabilityPolicies.uuid, uuid)))
    .get();
}

/** Quay's duplicate rule (the same pattern, whatever `tagPatternMatches`), and Wharf's bound. */
async function refuseDuplicate(db: Db, scope: PolicyScope, config: ImmutabilityConfig, except?: string) {
  const existing = (await listImmutabilityPolicies(db, scope)).filter((p) => p.uuid !== except);
  if (existing.some((p) => p.tagPattern === config.tagPattern))
    throw conflict("A policy with the same tag_pattern already exists");
  if (except === undefined && existing.length >= MAX_IMMUTABILITY_POLICIES) {
    const where = scope.repositoryId === null ? "namespace" : "repository";
    throw conflict(`A ${where} may have at most ${MAX_IMMUTABILITY_POLICIES} immutability policies`);
  }
}

function policyEvent(
  change: "create" | "update" | "delete",
  scope: PolicyScope,
  policy: ReturnType<typeof immutabilityView>,
  events: EventScope,
) {
  const repository = scopeRepository(scope);
  return newEvent(`${change}_immutability_policy`, { namespace: scope.namespace, repository }, events.origin, {
    policy,
  });
}

/**
 * Creates a policy. Checked, then inserted: two identical requests racing may both pass the
 * duplicate check, and their two policies then protect exactly the tags one would.
 */
export async function createImmutabilityPolicy(
  db: Db,
  scope: PolicyScope,
  config: ImmutabilityConfig,
  events: EventScope,
): Promise<ImmutabilityPolicy> {
  await refuseDuplicate(db, scope, config);
  const uuid = crypto.randomUUID();
  const event = policyEvent("create", scope, { uuid, ...config }, events);
  const insert = db
    .insert(immutabilityPolicies)
    .values({ uuid, namespaceId: scope.namespaceId, repositoryId: scope.repositoryId, ...config });
  await commitWithEvents(db, events, [insert], [event]);
  return (await findImmutabilityPolicy(db, scope, uuid))!;
}

/** Replaces the policy's pattern (Quay's PUT), with its event; none when it was deleted meanwhile. */
export async function updateImmutabilityPolicy(
  db: Db,
  scope: PolicyScope,
  policy: ImmutabilityPolicy,
  config: ImmutabilityConfig,
  events: EventScope,
): Promise<void> {
  await refuseDuplicate(db, scope, config, policy.uuid);
  const event = policyEvent("update", scope, { uuid: policy.uuid, ...config }, events);
  const update = db.update(immutabilityPolicies).set(config).where(eq(immutabilityPolicies.uuid, policy.uuid));
  await writeWhilePolicyExists(db, immutabilityPolicies, policy.uuid, event, events, update);
}

/** Deletes the policy; the tags it made immutable stay so, as in Quay. */
export async function deleteImmutabilityPolicy(
  db: Db,
  scope: PolicyScope,
  policy: ImmutabilityPolicy,
  events: EventScope,
): Promise<void> {
  const event = policyEvent("delete", scope, immutabilityView(policy), events);
  const remove = db.delete(immutabilityPolicies).where(eq(immutabilityPolicies.uuid, policy.uuid));
  await writeWhilePolicyExists(db, immutabilityPolicies, policy.uuid, event, events, remove);
}
