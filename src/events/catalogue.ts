/**
 * The event catalogue: every kind of event and the fields it carries in `data`, checked with zod
 * when an event is made ({@link newEvent}) and again by the consumer (src/queues/consumer.ts).
 * Kinds use Quay's action-log names where Quay has one (`push_repo`, `create_tag`, …;
 * /work/shared/reference/quay-features-003.md §5 "Log kinds"), Wharf's own otherwise. What emits
 * each kind, and where, is docs/events.md; a new kind is declared here and documented there.
 */
import { z } from "zod";
import { type Envelope, envelopeFields, type EventOrigin, type RepositoryRef } from "./envelope";
import { clock } from "../lib/clock";
import { IDENTITY_EVENTS } from "./identity-catalogue";
import { NOTIFICATION_EVENTS } from "./notification-catalogue";
import { EXPORT_EVENTS } from "./export-catalogue";
import { QUOTA_EVENTS } from "./quota-catalogue";
import { QUOTA_ADMIN_EVENTS } from "./quota-admin-catalogue";
import { FAIR_USE_EVENTS } from "./fair-use-catalogue";
import { MIRROR_EVENTS } from "./mirror-catalogue";
import { PROXY_EVENTS } from "./proxy-catalogue";
import { ORG_MIRROR_EVENTS } from "./org-mirror-catalogue";
import { BUILD_EVENTS, CONNECTOR_EVENTS, SECSCAN_EVENTS } from "./build-catalogue";
import { METRICS_TOKEN_EVENTS } from "./metrics-catalogue";

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be a sha256 digest");
const tagged = { tag: z.string(), digest };
const label = z.object({
  id: z.string(),
  key: z.string(),
  value: z.string(),
  mediaType: z.enum(["text/plain", "application/json"]),
});

const immutabilityPolicy = z.object({ uuid: z.string(), tagPattern: z.string(), tagPatternMatches: z.boolean() });

/** Changes to a repository's contents and settings (docs/events.md, "Repository events"). */
const REPOSITORY_EVENTS = {
  /**
   * A manifest pushed through /v2, by tag (`tag`) or by digest (`tag` null); `userAgent`, the
   * pushing client's, when it sent one (Quay's `user-agent` in the entry).
   */
  push_repo: z.object({
    digest,
    mediaType: z.string(),
    tag: z.string().nullable(),
    userAgent: z.string().max(256).optional(),
  }),
  create_tag: z.object(tagged),
  move_tag: z.object({ ...tagged, previousDigest: digest }),
  delete_tag: z.object(tagged),
  /** A restore from the time machine; `previousDigest` is what the tag pointed at, if alive. */
  revert_tag: z.object({ ...tagged, previousDigest: digest.nullable() }),
  /** Expirations in unix milliseconds; null is none. */
  change_tag_expiration: z.object({
    ...tagged,
    expiration: z.number().int().nullable(),
    previousExpiration: z.number().int().nullable(),
  }),
  change_tag_immutability: z.object({ ...tagged, immutable: z.boolean() }),
  /** Quay's TagTimeMachineDelete: `rows` lifetimes of the tag for `digest` left the time machine. */
  permanently_delete_tag: z.object({ ...tagged, rows: z.number().int().positive() }),
  autoprune_tag_delete: z.object(tagged),
  /** A manifest deleted by digest through /v2; `tags`: the alive tags that pointed at it, now ended (100 at most). */
  delete_manifest: z.object({ digest, tags: z.array(z.string()).max(100) }),
  /** DELETE /v2/<name>/blobs/<digest>: the repository no longer links the blob. */
  delete_blob: z.object({ digest }),
  manifest_label_add: z.object({ digest, label }),
  manifest_label_delete: z.object({ digest, label }),
  create_repo: z.object({
    visibility: z.enum(["public", "private"]),
    kind: z.enum(["image", "application"]),
    /** Created by a first push rather than the API. */
    byPush: z.boolean(),
  }),
  delete_repo: z.object({}),
  change_repo_visibility: z.object({ visibility: z.enum(["public", "private"]) }),
  set_repo_description: z.object({ description: z.string() }),
  /** Quay's `changeRepoState`: the repository's new state (READ_ONLY refuses every write). */
  change_repo_state: z.object({ state: z.enum(["NORMAL", "READ_ONLY", "MIRROR"]) }),
  /** Immutability policies of a namespace (no repository) or of a repository (Quay's kinds). */
  create_immutability_policy: z.object({ policy: immutabilityPolicy }),
  update_immutability_policy: z.object({ policy: immutabilityPolicy }),
  delete_immutability_policy: z.object({ policy: immutabilityPolicy }),
  /** Alive tags a new or changed policy made immutable: how many, and which (at most 100 names). */
  tags_made_immutable_by_policy: z.object({
    policy: immutabilityPolicy,
    count: z.number().int().positive(),
    tags: z.array(z.string()).max(100),
  }),
};

/**
 * Garbage collection's removals, one event per committed batch (docs/events.md, "Garbage
 * collection"): a summary per repository and pass rather than one event per row.
 */
const GC_EVENTS = {
  /** Tag lifetimes that left the time machine: how many rows, and which tag names (at most 100). */
  gc_tag_rows_deleted: z.object({ rows: z.number().int().positive(), tags: z.array(z.string()).max(100) }),
  /** Manifests nothing needed any more, with their references and labels (at most 90 per event). */
  gc_manifests_deleted: z.object({ digests: z.array(digest).min(1) }),
  /** The repository's links to blobs none of its manifests references (at most 1,000 per event). */
  gc_blob_links_deleted: z.object({ digests: z.array(digest) }),
  /** A blob no repository needed, its row deleted (its bytes follow); no repository. */
  gc_blob_deleted: z.object({ digest, size: z.number().int().nonnegative() }),
};

export const CATALOGUE = {
  ...REPOSITORY_EVENTS,
  ...GC_EVENTS,
  ...IDENTITY_EVENTS,
  ...NOTIFICATION_EVENTS,
  ...EXPORT_EVENTS,
  ...QUOTA_EVENTS,
  ...QUOTA_ADMIN_EVENTS,
  ...FAIR_USE_EVENTS,
  ...MIRROR_EVENTS,
  ...PROXY_EVENTS,
  ...ORG_MIRROR_EVENTS,
  ...BUILD_EVENTS,
  ...SECSCAN_EVENTS,
  ...CONNECTOR_EVENTS,
  ...METRICS_TOKEN_EVENTS,
};

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
  atMs = clock.now(),
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
