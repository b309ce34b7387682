/**
 * One Durable Object per repository (keyed by its name): the repository's lock. Every tag write,
 * manifest commit and delete, blob unlink and garbage-collection pass of the repository runs here,
 * one at a time, the way Quay takes a per-repository lock around tag moves. Concurrent pushes to
 * one tag therefore never lose an update, a tag's lifetimes never overlap, and a collection never
 * removes a manifest that a push committing here is about to point at. Pulls never come here.
 *
 * The writes themselves are the domain's (src/registry/{manifest-writes,tag-writes,time-machine,
 * blobs,repository-deletion}.ts, src/gc/repository-gc.ts): each commits its change with its events
 * (src/events/) and returns them; this object runs them in order and publishes the events once the
 * lock is released. Callers pass who asked (an EventOrigin: plain data, it crosses RPC).
 *
 * Each write gets two clients (src/registry/core-db.ts): `DB`, where the repository's directory
 * row, state, policies and quota rules are, and the database holding its namespace's registry
 * core (the plan's Stage 2, docs/sharding-the-registry-core.md), where its tags, manifests, links,
 * usage and the events of their changes are. The same one while the core is in `DB`.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../src/config";
import { database, type Db } from "../src/db/client";
import { capture, type Outcome } from "../src/errors/outcome";
import type { RegistryEvent } from "../src/events/catalogue";
import type { EventOrigin, RepositoryRef } from "../src/events/envelope";
import { type Committed, publishEvents } from "../src/events/outbox";
import { graceMs } from "../src/gc/grace";
import { collectRepository, type RepositoryCollection } from "../src/gc/repository-gc";
import { Mutex } from "../src/lib/mutex";
import { deleteBlobLink } from "../src/registry/blobs";
import { addLabel, deleteLabel, type LabelledManifest } from "../src/registry/label-writes";
import type { LabelMediaType, LabelView, NewLabel } from "../src/registry/labels";
import type { ManifestLabel } from "../src/db/schema";
import { type CoreTarget, type WriteClients, writableCoreDb } from "../src/registry/core-db";
import { commitManifest, deleteManifest } from "../src/registry/manifest-writes";
import type { ManifestCommit } from "../src/registry/manifests";
import type { Digest } from "../src/registry/reference";
import { vanishRepository } from "../src/registry/repository-deletion";
import {
  changeRepositoryState,
  type RepositoryState,
  requireNormalState,
  requireStateWriter,
} from "../src/registry/repository-state";
import { markTagsImmutable } from "../src/registry/tag-immutability";
import { deleteTag, endTags, putTag, type TagChange } from "../src/registry/tag-writes";
import { removeFromTimeMachine, restoreTag } from "../src/registry/time-machine";
import { clock } from "../src/lib/clock";
import { commitProxiedManifest, type ProxiedManifest, renewProxiedTag } from "../src/proxy/manifest-commit";

/** A write under the lock: the clients it writes through (src/registry/core-db.ts) and the time. */
type LockedWrite<T> = (clients: WriteClients, nowMs: number) => Promise<Committed<T>>;

export class RepositoryDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();

  /** Runs a write under the lock, then publishes its events; domain errors become a failed outcome. */
  #write<T>(repository: CoreTarget, write: LockedWrite<T>): Promise<Outcome<T>> {
    return capture(() => this.#run(repository, write));
  }

  /**
   * A write that a repository not NORMAL refuses (src/registry/repository-state.ts): the state is
   * read under the lock its change is made under, so no write commits after a change to READ_ONLY.
   * The state is `DB`'s, wherever the write's rows are.
   */
  #normalWrite<T>(repository: RepositoryRef, write: LockedWrite<T>): Promise<Outcome<T>> {
    return this.#write(repository, async (clients, nowMs) => {
      await requireNormalState(clients.db, repository);
      return write(clients, nowMs);
    });
  }

  /**
   * Runs a write under the lock and publishes its events after the lock is released. The write
   * gets `DB` and the database of the repository's registry core (its shadows made there first:
   * src/registry/core-db.ts; `DB` itself, with no query, when the core is there). Its events were
   * committed in `eventsIn`'s outbox, the core's unless the write says otherwise, and are cleared
   * from there once sent.
   */
  async #run<T>(repository: CoreTarget, write: LockedWrite<T>, eventsIn: keyof WriteClients = "core"): Promise<T> {
    const { value, events, outbox } = await this.#mutex.run(async () => {
      const nowMs = clock.now();
      const clients = { db: database(this.env.DB), core: await writableCoreDb(this.env, repository) };
      return { ...(await write(clients, nowMs)), outbox: clients[eventsIn] };
    });
    this.#publish(events, outbox);
    return value;
  }

  /** Runs a write of `DB` alone under the lock (a repository's state); its events are `DB`'s. */
  async #runInDb<T>(write: (db: Db, nowMs: number) => Promise<Committed<T>>): Promise<T> {
    const db = database(this.env.DB);
    const { value, events } = await this.#mutex.run(() => write(db, clock.now()));
    this.#publish(events, db);
    return value;
  }

  /**
   * Publishes committed events after answering (src/events/outbox.ts), clearing their rows from
   * the outbox they were committed in: the object runs a pending promise to its end; were it
   * evicted first, that database's outbox drain sends them.
   */
  #publish(events: RegistryEvent[], outbox: Db): void {
    if (events.length > 0) this.ctx.waitUntil(publishEvents(this.env, events, outbox));
  }

  /** `PUT /v2/<name>/manifests/<reference>` (src/registry/manifest-writes.ts). */
  async commitManifest(commit: ManifestCommit): Promise<Outcome<{ tagMoved: boolean }>> {
    const config = readConfig(this.env);
    const settings = {
      tempTagMs: config.PUSH_TEMP_TAG_EXPIRATION_SEC * 1000,
      FEATURE_QUOTA_MANAGEMENT: config.FEATURE_QUOTA_MANAGEMENT,
      DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES,
    };
    // The state and the namespace's quota are read inside, in the one read of `DB` a push makes
    // first (src/registry/write-guard.ts).
    const repository = { id: commit.repositoryId, name: commit.repositoryName };
    return this.#write(repository, (clients, nowMs) => commitManifest(clients, commit, settings, nowMs));
  }

  /** A manifest a proxy-cache organization fetched from its upstream (src/proxy/manifest-commit.ts). */
  async commitProxiedManifest(commit: ProxiedManifest): Promise<Outcome<null>> {
    const config = readConfig(this.env);
    const settings = {
      FEATURE_QUOTA_MANAGEMENT: config.FEATURE_QUOTA_MANAGEMENT,
      DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES,
    };
    return this.#write(commit.repository, (clients, nowMs) => commitProxiedManifest(clients, commit, settings, nowMs));
  }

  /** A cached tag pulled again while unchanged upstream: its expiration starts over. */
  async renewProxiedTag(
    repository: RepositoryRef,
    tag: string,
    digest: Digest,
    endMs: number | null,
  ): Promise<Outcome<boolean>> {
    return this.#write(repository, ({ core }, nowMs) => renewProxiedTag(core, repository, tag, digest, endMs, nowMs));
  }

  /** `DELETE /v2/<name>/manifests/<digest>`. */
  async deleteManifest(repository: RepositoryRef, digest: Digest, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, ({ core }, nowMs) => deleteManifest(core, repository, digest, origin, nowMs));
  }

  /** `DELETE /v2/<name>/blobs/<digest>` (src/registry/blobs.ts `deleteBlobLink`). */
  async deleteBlob(repository: RepositoryRef, digest: Digest, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, ({ core }, nowMs) => deleteBlobLink(core, repository, digest, origin, nowMs));
  }

  /** `PUT /api/v1/repository/{repo}/tag/{tag}` (src/registry/tag-writes.ts). */
  async putTag(
    repository: RepositoryRef,
    tag: string,
    change: TagChange,
    origin: EventOrigin,
  ): Promise<Outcome<{ created: boolean; moved: boolean }>> {
    const limits = { maxExpirationMs: readConfig(this.env).MAXIMUM_TAG_EXPIRATION * 1000 };
    return this.#normalWrite(repository, (clients, nowMs) =>
      putTag(clients, repository, tag, change, limits, origin, nowMs),
    );
  }

  /** `POST /api/v1/repository/{repo}/manifest/{digest}/labels` (src/registry/label-writes.ts). */
  async addLabel(
    repository: RepositoryRef,
    manifest: LabelledManifest,
    label: NewLabel & { mediaType: LabelMediaType },
    origin: EventOrigin,
  ): Promise<Outcome<LabelView | null>> {
    return this.#normalWrite(repository, (clients) => addLabel(clients, repository, manifest, label, origin));
  }

  /** `DELETE /api/v1/repository/{repo}/manifest/{digest}/labels/{labelid}`: the label deleted, if any. */
  async deleteLabel(
    repository: RepositoryRef,
    manifest: LabelledManifest,
    labelId: string,
    origin: EventOrigin,
  ): Promise<Outcome<ManifestLabel | undefined>> {
    return this.#normalWrite(repository, (clients) => deleteLabel(clients, repository, manifest, labelId, origin));
  }

  /** `DELETE /api/v1/repository/{repo}/tag/{tag}` and `DELETE /v2/<name>/manifests/<tag>`. */
  async deleteTag(repository: RepositoryRef, tag: string, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, ({ core }, nowMs) => deleteTag(core, repository, tag, origin, nowMs));
  }

  /**
   * A mirror sync removing a tag its rule no longer matches (src/mirror/sync.ts): as `deleteTag`,
   * but by the one writer a MIRROR repository takes, its mirror's robot.
   */
  async deleteMirroredTag(repository: RepositoryRef, tag: string, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#write(repository, async ({ db, core }, nowMs) => {
      await requireStateWriter(db, repository, origin);
      return deleteTag(core, repository, tag, origin, nowMs);
    });
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/restore` (src/registry/time-machine.ts). */
  async restoreTag(
    repository: RepositoryRef,
    tag: string,
    digest: Digest,
    origin: EventOrigin,
  ): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (clients, nowMs) =>
      restoreTag(clients, repository, tag, digest, origin, nowMs),
    );
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/expire` (PERMANENTLY_DELETE_TAGS). */
  async removeFromTimeMachine(
    repository: RepositoryRef,
    tag: string,
    digest: Digest,
    isAlive: boolean,
    origin: EventOrigin,
  ): Promise<Outcome<null>> {
    return this.#normalWrite(repository, ({ core }, nowMs) =>
      removeFromTimeMachine(core, repository, tag, digest, isAlive, origin, nowMs),
    );
  }

  /**
   * Auto-prune: ends the named alive tags (immutable ones stay); returns those ended. A repository
   * that is not NORMAL is left alone, as Quay's pruner skips read-only and mirrored ones.
   */
  async endTags(repository: RepositoryRef, names: string[], origin: EventOrigin): Promise<string[]> {
    const outcome = await this.#normalWrite(repository, ({ core }, nowMs) =>
      endTags(core, repository, names, origin, nowMs),
    );
    return outcome.ok ? outcome.value : [];
  }

  /**
   * Marks the tags an immutability policy covers (src/registry/tag-immutability.ts), under the lock
   * pushes read the policies under; returns how many became immutable.
   */
  async applyImmutabilityPolicy(
    repository: RepositoryRef,
    policy: { uuid: string; tagPattern: string; tagPatternMatches: boolean },
    origin: EventOrigin,
  ): Promise<number> {
    return this.#run(repository, ({ core }, nowMs) => markTagsImmutable(core, repository, policy, origin, nowMs));
  }

  /** `PUT /api/v1/repository/{repo}/changestate` (src/registry/repository-state.ts): `DB` alone. */
  async changeState(repository: RepositoryRef, state: RepositoryState, origin: EventOrigin): Promise<Outcome<null>> {
    return capture(() => this.#runInDb((db, nowMs) => changeRepositoryState(db, repository, state, origin, nowMs)));
  }

  /**
   * Makes the repository vanish (src/registry/repository-deletion.ts): under the lock, so no tag
   * write of this name interleaves. False when the repository no longer bears its name, or, with
   * `abandonedBefore` (garbage collection of an abandoned first push), when a manifest, a tag or
   * push activity since then says it is not abandoned: a manifest commits under this lock, and
   * an upload records its activity in one statement, so either comes before or after this one
   * (with the core on a shard, the read of the abandonment precedes `DB`'s batch: see
   * vanishRepository). `DB` decides and commits the event; the core's shadow follows under the
   * same lock.
   */
  async deleteRepository(repository: RepositoryRef, origin: EventOrigin, abandonedBefore?: number): Promise<boolean> {
    const vanish: LockedWrite<boolean> = async (clients) => {
      const event = await vanishRepository(clients, repository, origin, abandonedBefore);
      return { value: event !== null, events: event ? [event] : [] };
    };
    return this.#run(repository, vanish, "db");
  }

  /**
   * One bounded garbage-collection pass over this repository (src/gc/repository-gc.ts), under the
   * lock, at `nowMs`, in the repository's core. `name` is the name this object is keyed by: a
   * repository that no longer bears it is not collected here (and it names the namespace, hence
   * the core's database).
   */
  async collectGarbage(repositoryId: number, nowMs: number, name: string): Promise<RepositoryCollection> {
    const options = { graceMs: graceMs(this.env), name };
    return this.#run({ id: repositoryId, name }, ({ core }) => collectRepository(core, repositoryId, nowMs, options));
  }
}
