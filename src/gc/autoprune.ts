/**
 * The auto-pruner (Quay `workers/autopruneworker.py`): runs every repository's policies and ends
 * the tags they choose. Ended tags stay in the time machine (restorable for the namespace's
 * `tag_expiration_s`) until garbage collection, as Quay's pruned tags do. The scheduled handler
 * calls {@link runAutoprune} each tick; each call is one bounded pass that continues where the
 * previous one stopped (a cursor in `gc_state`), so successive calls cover every repository.
 *
 * For a repository: its namespace's policies first, then its own (Quay: "policies set at the
 * organization level are executed first"); without either, DEFAULT_NAMESPACE_AUTOPRUNE_POLICY
 * (which has no pattern). Within each, `creation_date` before `number_of_tags`, as Quay's worker
 * runs them, so the outcome does not depend on the order policies were created in. Policies run
 * one after another: a tag one ends is gone for the next (it cannot be saved, and a later count
 * does not count it). Candidates are the alive tags that are neither hidden (Quay's temporary
 * tags) nor immutable (Quay's pruner skips those), filtered by the policy's pattern; their age is
 * their lifetime's start, newest first and, at equal starts, the greater name first.
 *
 * Tags are read newest first, so one sweep decides every policy at once: a `number_of_tags`
 * policy keeps the first N candidates it sees that no earlier policy ended. That makes a large
 * repository resumable in the next call from the last tag read, with the counts so far.
 */
import { and, asc, desc, eq, gt, isNull, lt, ne, or } from "drizzle-orm";
import { readConfig } from "../config";
import { database, type Db } from "../db/client";
import { autoprunePolicies, repositories, tags, users } from "../db/schema";
import { systemOrigin } from "../events/envelope";
import { runnablePolicy, runnableStored, type RunnablePolicy } from "../registry/autoprune-policies";
import { readableCoreDb } from "../registry/core-db";
import { repositoryObject } from "../registry/repository-object";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { policyTargetTags } from "../registry/tags";
import { appliesToRepository } from "../registry/policy-scope";
import { readCursor, writeCursor } from "./grace";

/** Repositories visited per call. */
const REPOSITORIES_PER_PASS = 50;
/** Tag rows examined per call. */
const TAGS_PER_PASS = 1_000;
/** Pattern-matching steps per call (each test charged its worst case, src/lib/tag-pattern.ts). */
const MATCH_STEPS_PER_PASS = 5_000_000;
/** Tags read per query, and ended per call to the repository's Durable Object. */
const PAGE = 100;
const PASS = "autoprune";
const AUTOPRUNE = systemOrigin("autoprune");

/**
 * Where the previous call stopped, as JSON in `gc_state` (pass `autoprune`): repositories up to id
 * `after` are done; `within` is the one begun, with the last tag read and the count policies' tallies.
 */
interface Cursor {
  after: number;
  within?: { repositoryId: number; at?: { startMs: number; name: string }; kept: Record<string, number> };
}

interface Budget {
  tags: number;
  steps: number;
}

export interface AutopruneRun {
  /** Repositories whose tags this call examined (wholly or in part). */
  repositories: number;
  tagsPruned: number;
  /** True when a bound stopped the pass with repositories left; false once the round is complete. */
  more: boolean;
}

/**
 * One bounded pass: at most 50 repositories and 1,000 tag rows (and a budget of pattern-matching
 * steps), from where the previous call stopped. Does nothing while FEATURE_AUTO_PRUNE is off.
 */
export async function runAutoprune(env: Env, nowMs: number): Promise<AutopruneRun> {
  const config = readConfig(env);
  if (!config.FEATURE_AUTO_PRUNE) return { repositories: 0, tagsPruned: 0, more: false };
  const db = database(env.DB);
  const fallback = config.DEFAULT_NAMESPACE_AUTOPRUNE_POLICY
    ? runnablePolicy("default", config.DEFAULT_NAMESPACE_AUTOPRUNE_POLICY)
    : null;
  const cursor = await savedCursor(db);
  const budget: Budget = { tags: TAGS_PER_PASS, steps: MATCH_STEPS_PER_PASS };
  const run: AutopruneRun = { repositories: 0, tagsPruned: 0, more: false };
  // A repository begun in the previous call comes first (`after` is below it).
  const batch = await db
    .select({ id: repositories.id, name: repositories.name, namespaceId: users.id })
    .from(repositories)
    .innerJoin(users, eq(users.username, repositories.namespace))
    // Deleted repositories and namespaces being deleted are skipped, and, as Quay's worker does,
    // disabled ones.
    .where(
      and(
        gt(repositories.id, cursor.after),
        ne(repositories.namespace, TOMBSTONE_NAMESPACE),
        isNull(users.deletingSince),
        eq(users.enabled, true),
      ),
    )
    .orderBy(asc(repositories.id))
    .limit(REPOSITORIES_PER_PASS)
    .all();
  for (const repository of batch) {
    if (budget.tags <= 0 || budget.steps <= 0) {
      run.more = true;
      break;
    }
    run.repositories++;
    const policies = await policiesFor(db, repository, fallback);
    const resume = cursor.within?.repositoryId === repository.id ? cursor.within : undefined;
    // The repositories and policies are `DB`'s; the tags are on the namespace's core (the plan's §2).
    const core = await readableCoreDb(env, repository.name);
    const outcome = await pruneRepository(env, core, repository, policies, resume, budget, nowMs);
    run.tagsPruned += outcome.pruned;
    if (outcome.stoppedAt) {
      cursor.within = outcome.stoppedAt;
      run.more = true;
      break;
    }
    cursor.after = repository.id;
    cursor.within = undefined;
  }
  if (!run.more && batch.length === REPOSITORIES_PER_PASS) run.more = true;
  // Once the round is complete the cursor goes, so the next call starts from the first repository.
  await writeCursor(db, PASS, run.more ? JSON.stringify(cursor) : null, nowMs);
  return run;
}

/** The namespace's policies then the repository's, each `creation_date` first; else the default. */
async function policiesFor(
  db: Db,
  repository: { id: number; namespaceId: number },
  fallback: RunnablePolicy | null,
): Promise<RunnablePolicy[]> {
  const rows = await db
    .select()
    .from(autoprunePolicies)
    .where(appliesToRepository(autoprunePolicies, repository))
    .orderBy(asc(autoprunePolicies.createdAt), asc(autoprunePolicies.uuid))
    .all();
  if (rows.length === 0) return fallback ? [fallback] : [];
  const rank = (row: (typeof rows)[number]) =>
    (row.repositoryId === null ? 0 : 2) + (row.method === "creation_date" ? 0 : 1);
  return rows
    .sort((a, b) => rank(a) - rank(b))
    .map(runnableStored)
    .filter((p): p is RunnablePolicy => p !== null);
}

/**
 * Sweeps the repository's candidates (read from `core`, the database holding its tags) newest first, from `resume` if given, ending those the
 * policies choose; `stoppedAt` is set when the budget ran out first.
 */
async function pruneRepository(
  env: Env,
  core: Db,
  repository: { id: number; name: string },
  policies: RunnablePolicy[],
  resume: Cursor["within"],
  budget: Budget,
  nowMs: number,
): Promise<{ pruned: number; stoppedAt?: NonNullable<Cursor["within"]> }> {
  if (policies.length === 0) return { pruned: 0 };
  const kept: Record<string, number> = { ...resume?.kept };
  let last = resume?.at;
  let pruned = 0;
  const stop = () => ({ pruned, stoppedAt: { repositoryId: repository.id, at: last, kept } });
  for (;;) {
    if (budget.tags <= 0) return stop();
    const limit = Math.min(PAGE, budget.tags);
    const page = await core
      .select({ name: tags.name, startMs: tags.lifetimeStartMs })
      .from(tags)
      .where(
        and(
          policyTargetTags(repository.id, nowMs),
          last
            ? or(
                lt(tags.lifetimeStartMs, last.startMs),
                and(eq(tags.lifetimeStartMs, last.startMs), lt(tags.name, last.name)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(tags.lifetimeStartMs), desc(tags.name))
      .limit(limit)
      .all();
    const chosen: string[] = [];
    let stopped = false;
    for (const tag of page) {
      const cost = policies.reduce((sum, p) => sum + (p.matcher?.cost(tag.name.length) ?? 0), 0);
      // The first tag of a call always goes through, so every call makes progress.
      if (cost > budget.steps && budget.tags < TAGS_PER_PASS) {
        stopped = true;
        break;
      }
      budget.tags--;
      budget.steps -= cost;
      if (chooses(policies, kept, tag, nowMs)) chosen.push(tag.name);
      last = tag;
    }
    if (chosen.length > 0) {
      const ref = { id: repository.id, name: repository.name };
      pruned += (await repositoryObject(env, repository.name).endTags(ref, chosen, AUTOPRUNE)).length;
    }
    if (stopped) return stop();
    if (page.length < limit) return { pruned };
  }
}

/** Whether the policies, run in order, end `tag`; counts it as kept by the count policies it survives. */
function chooses(
  policies: RunnablePolicy[],
  kept: Record<string, number>,
  tag: { name: string; startMs: number },
  nowMs: number,
): boolean {
  let ended = false;
  for (const policy of policies) {
    if (ended) break;
    if (policy.matcher && policy.matcher.test(tag.name) !== policy.matches) continue;
    if (policy.method === "creation_date") {
      ended = tag.startMs < nowMs - policy.maxAgeMs;
    } else if ((kept[policy.key] ?? 0) >= policy.keep) {
      ended = true;
    } else {
      kept[policy.key] = (kept[policy.key] ?? 0) + 1;
    }
  }
  return ended;
}

/** The saved cursor; a missing or unreadable one starts the round over (pruning again is harmless). */
async function savedCursor(db: Db): Promise<Cursor> {
  try {
    const parsed = JSON.parse((await readCursor(db, PASS)) ?? "null") as Cursor | null;
    if (parsed && Number.isSafeInteger(parsed.after)) return parsed;
  } catch {
    // Unreadable: start over.
  }
  return { after: 0 };
}
