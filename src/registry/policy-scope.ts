/**
 * Where tag policies live, as Quay scopes both of its kinds (auto-prune in ./autoprune-policies.ts,
 * immutability in ./immutability-policies.ts): a namespace's own, or one repository's. Their tables
 * have the same scope columns, so the scope's condition and the guarded write of a change are the
 * same for both, and live here.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { type autoprunePolicies, type immutabilityPolicies, users, type Repository } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { RepositoryRef } from "../events/envelope";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";

/**
 * Where policies live: a namespace's own (`repositoryId` null), or one repository's; with the
 * names the events of their changes carry.
 */
export interface PolicyScope {
  namespaceId: number;
  repositoryId: number | null;
  namespace: string;
  /** The repository's full name when `repositoryId` is set. */
  repositoryName: string | null;
}

type PolicyTable = typeof autoprunePolicies | typeof immutabilityPolicies;

/** The scope of a namespace's own policies. */
export function namespaceScope(namespace: { id: number; username: string }): PolicyScope {
  return { namespaceId: namespace.id, repositoryId: null, namespace: namespace.username, repositoryName: null };
}

/** The scope of `repository`'s own policies; undefined when its namespace has no account (deleted). */
export async function repositoryScope(db: Db, repository: Repository): Promise<PolicyScope | undefined> {
  const namespace = await db.select({ id: users.id }).from(users).where(eq(users.username, repository.namespace)).get();
  return namespace
    ? {
        namespaceId: namespace.id,
        repositoryId: repository.id,
        namespace: repository.namespace,
        repositoryName: repository.name,
      }
    : undefined;
}

/** The repository a scope names, as events carry it; null for a namespace's scope. */
export function scopeRepository(scope: PolicyScope): RepositoryRef | null {
  return scope.repositoryId === null ? null : { id: scope.repositoryId, name: scope.repositoryName ?? "" };
}

/** The rows of `table` in `scope` (a namespace's scope leaves out its repositories' policies). */
export function inPolicyScope(table: PolicyTable, scope: PolicyScope) {
  return scope.repositoryId === null
    ? and(eq(table.namespaceId, scope.namespaceId), isNull(table.repositoryId))
    : eq(table.repositoryId, scope.repositoryId);
}

/** The rows of `table` that apply to `repository`: its own and its namespace's. */
export function appliesToRepository(table: PolicyTable, repository: { id: number; namespaceId: number }) {
  return or(
    and(eq(table.namespaceId, repository.namespaceId), isNull(table.repositoryId)),
    eq(table.repositoryId, repository.id),
  );
}

/**
 * Runs `change` to the policy `uuid` of `table` with `event`, which is written (and published)
 * only while the policy exists: a policy deleted meanwhile gets no event.
 */
export async function writeWhilePolicyExists(
  db: Db,
  table: PolicyTable,
  uuid: string,
  event: RegistryEvent,
  events: EventScope,
  change: Statement,
): Promise<void> {
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${table} where uuid = ${uuid})`),
    change,
  ]);
  if (written(row)) events.publish([event]);
}
