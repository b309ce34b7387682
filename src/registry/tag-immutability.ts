/**
 * What an immutability policy does to tags already there: creating or changing one marks the alive,
 * visible tags it covers immutable, as Quay's `apply_immutability_policy_to_existing_tags` does,
 * with one `tags_made_immutable_by_policy` event per repository where it marked any (Quay logs
 * one per policy). Deleting a policy leaves the tags immutable, as in Quay. New tags are covered
 * where they are written (src/registry/write-guard.ts).
 *
 * Each repository's tags are marked under its Durable Object lock ({@link markTagsImmutable}, run
 * by RepositoryDO.applyImmutabilityPolicy), where pushes and tag moves also read the policies: a
 * push either committed before the marking (and is marked) or reads the policy, which was stored
 * before the marking began. A namespace's policy visits each of its repositories in turn, at most
 * {@link PARALLEL_REPOSITORIES} at a time: one Durable Object call per repository.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, tags } from "../db/schema";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import { type PolicyScope, scopeRepository } from "./policy-scope";
import { compiledPolicy, type immutabilityView } from "./immutability-policies";
import { repositoryIsLive } from "./repositories";
import { repositoryEvent } from "./repository-events";
import { repositoryObject } from "./repository-object";
import { policyTargetTags } from "./tags";

type PolicyView = ReturnType<typeof immutabilityView>;

/** Tag rows read per page while marking. */
const PAGE = 1_000;
/** Repositories of a namespace marked at once. */
const PARALLEL_REPOSITORIES = 8;
/** Tag ids one marking statement names. */
const IDS_PER_STATEMENT = 1_000;
/** Names an event lists at most. */
const LISTED_TAGS = 100;

/**
 * Marks the repository's alive, visible, mutable tags that `policy` covers as immutable, in one
 * batch with its event; returns how many. Nothing when the repository no longer bears its name.
 */
export async function markTagsImmutable(
  db: Db,
  repository: RepositoryRef,
  policy: PolicyView,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<number>> {
  const covering = compiledPolicy(policy);
  if (!covering || !(await repositoryIsLive(db, repository.id, repository.name))) return { value: 0, events: [] };
  const marked: Array<{ id: number; name: string }> = [];
  for (let after = 0; ; ) {
    const page = await db
      .select({ id: tags.id, name: tags.name })
      .from(tags)
      .where(and(policyTargetTags(repository.id, nowMs), gt(tags.id, after)))
      .orderBy(asc(tags.id))
      .limit(PAGE)
      .all();
    marked.push(...page.filter((t) => covering.covers(t.name)));
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  if (marked.length === 0) return { value: 0, events: [] };
  const names = [...new Set(marked.map((t) => t.name))].sort().slice(0, LISTED_TAGS);
  const data = { policy, count: marked.length, tags: names };
  const event = repositoryEvent("tags_made_immutable_by_policy", repository, origin, data, nowMs);
  // The ids travel as one JSON parameter a statement (D1 binds at most 100 parameters), a
  // thousand at a time so a statement stays far below D1's 100 KB.
  const ids = marked.map((t) => t.id);
  const updates = [];
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    const chunk = JSON.stringify(ids.slice(i, i + IDS_PER_STATEMENT));
    updates.push(
      db.update(tags).set({ immutable: true }).where(sql`${tags.id} in (select value from json_each(${chunk}))`),
    );
  }
  await db.batch([updates[0]!, ...updates.slice(1), eventStatement(db, event)]);
  return { value: marked.length, events: [event] };
}

/**
 * Applies a policy just created or changed to the tags already there: the repository's, or every
 * repository's of the namespace. Returns how many tags became immutable.
 */
export async function applyImmutabilityPolicy(
  env: Env,
  db: Db,
  scope: PolicyScope,
  policy: PolicyView,
  origin: EventOrigin,
): Promise<number> {
  const own = scopeRepository(scope);
  const targets: RepositoryRef[] = own
    ? [own]
    : await db
        .select({ id: repositories.id, name: repositories.name })
        .from(repositories)
        .where(eq(repositories.namespace, scope.namespace))
        .orderBy(asc(repositories.id))
        .all();
  let total = 0;
  for (let i = 0; i < targets.length; i += PARALLEL_REPOSITORIES) {
    const counts = await Promise.all(
      targets
        .slice(i, i + PARALLEL_REPOSITORIES)
        .map((ref) => repositoryObject(env, ref.name).applyImmutabilityPolicy(ref, policy, origin)),
    );
    total += counts.reduce((a, b) => a + b, 0);
  }
  return total;
}
