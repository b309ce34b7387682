/**
 * How identity writes build and commit their events (docs/events.md, "Identity and account
 * events"): an event in a namespace, accounts and teams named as the catalogue names them, and the
 * two ways an event joins the batch of its change.
 */
import type { Db, Statement } from "../db/client";
import { eventOutbox, type Team, type User } from "../db/schema";
import { type EventData, type EventKind, newEvent, type RegistryEvent } from "../events/catalogue";
import type { EventOrigin } from "../events/envelope";
import type { AccountRef, Delegate } from "../events/identity-catalogue";
import { type EventScope, eventStatement } from "../events/outbox";
import type { SQL } from "drizzle-orm";

/**
 * An event of namespace `namespace` (a user's or an organization's; null for none, as a failed
 * login of no robot) about no one repository.
 */
export function namespaceEvent<K extends EventKind>(
  kind: K,
  namespace: string | null,
  origin: EventOrigin,
  data: EventData<K>,
): RegistryEvent<K> {
  return newEvent(kind, { namespace, repository: null }, origin, data);
}

/** How events name a user or robot. */
export function accountRef(account: Pick<User, "id" | "username" | "kind">): AccountRef {
  return { kind: account.kind === "robot" ? "robot" : "user", name: account.username, id: account.id };
}

export function teamRef(team: Pick<Team, "id" | "name">) {
  return { name: team.name, id: team.id };
}

/** A permission's holder: an account, or a team. */
export function delegateRef(delegate: { kind: "user"; user: User } | { kind: "team"; team: Team }): Delegate {
  return delegate.kind === "user" ? accountRef(delegate.user) : { kind: "team", ...teamRef(delegate.team) };
}

/**
 * Commits `statements` (the change) and the outbox rows of `events` in one batch, then publishes
 * the events: the one way an unconditional identity change and its events are written.
 */
export async function commitWithEvents(
  db: Db,
  scope: EventScope,
  statements: Statement[],
  events: RegistryEvent[],
): Promise<unknown[]> {
  const all = [...statements, ...events.map((event) => eventStatement(db, event))];
  const results = all.length > 0 ? await db.batch(all as [Statement, ...Statement[]]) : [];
  scope.publish(events);
  return results;
}

/**
 * The outbox row of `event`, written only where `onlyIf` holds when the statement runs (put it
 * before the change, with the change's own condition); it returns the row's id, so the writer
 * knows from the batch's result ({@link written}) whether to publish.
 */
export function conditionalEvent(db: Db, event: RegistryEvent, onlyIf: SQL) {
  return eventStatement(db, event, { onlyIf }).returning({ id: eventOutbox.id });
}

/** Whether a {@link conditionalEvent} statement wrote its row, from its result in the batch. */
export function written(result: unknown): boolean {
  return Array.isArray(result) && result.length > 0;
}
