/**
 * The event catalogue: every kind of event and the fields it carries in `data`, checked with zod
 * when an event is made ({@link newEvent}) and again by the consumer (src/queues/consumer.ts).
 * Kinds use Quay's action-log names where Quay has one (`push_repo`, `create_tag`, …;
 * /work/shared/reference/quay-features-003.md §5 "Log kinds"), Wharf's own otherwise. What emits
 * each kind, and where, is docs/events.md; a new kind is declared here and documented there.
 */
import { z } from "zod";
import { type Envelope, envelopeFields, type EventOrigin, type RepositoryRef } from "./envelope";
import { IDENTITY_EVENTS } from "./identity-catalogue";

/**
 * Changes to a repository and its settings (docs/events.md, "Repository events"). Tag, manifest,
 * label and garbage-collection kinds join as their writes move to the outbox.
 */
const REPOSITORY_EVENTS = {
  create_repo: z.object({
    visibility: z.enum(["public", "private"]),
    kind: z.enum(["image", "application"]),
    /** Created by a first push rather than the API. */
    byPush: z.boolean(),
  }),
  delete_repo: z.object({}),
  change_repo_visibility: z.object({ visibility: z.enum(["public", "private"]) }),
  set_repo_description: z.object({ description: z.string() }),
};

export const CATALOGUE = { ...REPOSITORY_EVENTS, ...IDENTITY_EVENTS };

export type EventKind = keyof typeof CATALOGUE;
export type EventData<K extends EventKind> = z.infer<(typeof CATALOGUE)[K]>;

/** One event: the envelope (src/events/envelope.ts) with its kind and that kind's fields. */
export type RegistryEvent<K extends EventKind = EventKind> = {
  [P in K]: Envelope & { kind: P; data: EventData<P> };
}[K];

const EVENT_KINDS = Object.keys(CATALOGUE) as EventKind[];

const eventSchema = z.object({ ...envelopeFields, kind: z.enum(EVENT_KINDS), data: z.unknown() });

/** `body` as an event of the catalogue, or null when it is not one (a malformed message). */
export function parseEvent(body: unknown): RegistryEvent | null {
  const envelope = eventSchema.safeParse(body);
  if (!envelope.success) return null;
  const data = CATALOGUE[envelope.data.kind].safeParse(envelope.data.data);
  return data.success ? ({ ...envelope.data, data: data.data } as RegistryEvent) : null;
}

/** Whether a queue message is an event (it has a `kind`), rather than a job (src/queues/jobs.ts). */
export function looksLikeEvent(body: unknown): boolean {
  return typeof body === "object" && body !== null && "kind" in body;
}

/** Where an event happened: a namespace, and a repository in it when the change is a repository's. */
export interface EventPlace {
  namespace: string | null;
  repository: RepositoryRef | null;
}

/**
 * A new event with a fresh id, its data checked against the catalogue: a malformed event fails
 * the write it belongs to rather than reach the outbox.
 */
export function newEvent<K extends EventKind>(
  kind: K,
  place: EventPlace,
  origin: EventOrigin,
  data: EventData<K>,
  atMs = Date.now(),
): RegistryEvent<K> {
  const checked = CATALOGUE[kind].parse(data) as EventData<K>;
  return {
    id: crypto.randomUUID(),
    kind,
    at: atMs,
    namespace: place.namespace,
    repository: place.repository,
    actor: origin.actor,
    ip: origin.ip,
    data: checked,
  } as RegistryEvent<K>;
}
