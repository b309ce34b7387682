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
import { commitManifest, deleteManifest } from "../src/registry/manifest-writes";
import type { ManifestCommit } from "../src/registry/manifests";
import type { Digest } from "../src/registry/reference";
import { abandonedFirstPush, vanishRepository } from "../src/registry/repository-deletion";
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

export class RepositoryDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();

  /** Runs a write under the lock, then publishes its events; domain errors become a failed outcome. */
  #write<T>(write: (db: Db, nowMs: number) => Promise<Committed<T>>): Promise<Outcome<T>> {
    return capture(() => this.#run(write));
  }

  /**
   * A write that a repository not NORMAL refuses (src/registry/repository-state.ts): the state is
   * read under the lock its change is made under, so no write commits after a change to READ_ONLY.
   */
  #normalWrite<T>(
    repository: RepositoryRef,
    write: (db: Db, nowMs: number) => Promise<Committed<T>>,
  ): Promise<Outcome<T>> {
    return this.#write(async (db, nowMs) => {
      await requireNormalState(db, repository);
      return write(db, nowMs);
    });
  }

  /** Runs a write under the lock and publishes its events after the lock is released. */
  async #run<T>(write: (db: Db, nowMs: number) => Promise<Committed<T>>): Promise<T> {
    const { value, events } = await this.#mutex.run(() => write(database(this.env.DB), clock.now()));
    this.#publish(events);
    return value;
  }

  /**
   * Publishes committed events after answering (src/events/outbox.ts): the object runs a pending
   * promise to its end; were it evicted first, the outbox drain sends them.
   */
  #publish(events: RegistryEvent[]): void {
    if (events.length > 0) this.ctx.waitUntil(publishEvents(this.env, events));
  }

  /** `PUT /v2/<name>/manifests/<reference>` (src/registry/manifest-writes.ts). */
  async commitManifest(commit: ManifestCommit): Promise<Outcome<{ tagMoved: boolean }>> {
    const config = readConfig(this.env);
    const settings = {
      tempTagMs: config.PUSH_TEMP_TAG_EXPIRATION_SEC * 1000,
      FEATURE_QUOTA_MANAGEMENT: config.FEATURE_QUOTA_MANAGEMENT,
      DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES,
    };
    // The state and the namespace's quota are read inside, in the one read a push makes first
    // (src/registry/write-guard.ts).
    return this.#write((db, nowMs) => commitManifest(db, commit, settings, nowMs));
  }

  /** `DELETE /v2/<name>/manifests/<digest>`. */
  async deleteManifest(repository: RepositoryRef, digest: Digest, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (db, nowMs) => deleteManifest(db, repository, digest, origin, nowMs));
  }

  /** `DELETE /v2/<name>/blobs/<digest>` (src/registry/blobs.ts `deleteBlobLink`). */
  async deleteBlob(repository: RepositoryRef, digest: Digest, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (db, nowMs) => deleteBlobLink(db, repository, digest, origin, nowMs));
  }

  /** `PUT /api/v1/repository/{repo}/tag/{tag}` (src/registry/tag-writes.ts). */
  async putTag(
    repository: RepositoryRef,
    tag: string,
    change: TagChange,
    origin: EventOrigin,
  ): Promise<Outcome<{ created: boolean; moved: boolean }>> {
    const limits = { maxExpirationMs: readConfig(this.env).MAXIMUM_TAG_EXPIRATION * 1000 };
    return this.#normalWrite(repository, (db, nowMs) => putTag(db, repository, tag, change, limits, origin, nowMs));
  }

  /** `DELETE /api/v1/repository/{repo}/tag/{tag}` and `DELETE /v2/<name>/manifests/<tag>`. */
  async deleteTag(repository: RepositoryRef, tag: string, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (db, nowMs) => deleteTag(db, repository, tag, origin, nowMs));
  }

  /**
   * A mirror sync removing a tag its rule no longer matches (src/mirror/sync.ts): as `deleteTag`,
   * but by the one writer a MIRROR repository takes, its mirror's robot.
   */
  async deleteMirroredTag(repository: RepositoryRef, tag: string, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#write(async (db, nowMs) => {
      await requireStateWriter(db, repository, origin);
      return deleteTag(db, repository, tag, origin, nowMs);
    });
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/restore` (src/registry/time-machine.ts). */
  async restoreTag(
    repository: RepositoryRef,
    tag: string,
    digest: Digest,
    origin: EventOrigin,
  ): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (db, nowMs) => restoreTag(db, repository, tag, digest, origin, nowMs));
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/expire` (PERMANENTLY_DELETE_TAGS). */
  async removeFromTimeMachine(
    repository: RepositoryRef,
    tag: string,
    digest: Digest,
    isAlive: boolean,
    origin: EventOrigin,
  ): Promise<Outcome<null>> {
    return this.#normalWrite(repository, (db, nowMs) =>
      removeFromTimeMachine(db, repository, tag, digest, isAlive, origin, nowMs),
    );
  }

  /**
   * Auto-prune: ends the named alive tags (immutable ones stay); returns those ended. A repository
   * that is not NORMAL is left alone, as Quay's pruner skips read-only and mirrored ones.
   */
  async endTags(repository: RepositoryRef, names: string[], origin: EventOrigin): Promise<string[]> {
    const outcome = await this.#normalWrite(repository, (db, nowMs) => endTags(db, repository, names, origin, nowMs));
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
    return this.#run((db, nowMs) => markTagsImmutable(db, repository, policy, origin, nowMs));
  }

  /** `PUT /api/v1/repository/{repo}/changestate` (src/registry/repository-state.ts). */
  async changeState(repository: RepositoryRef, state: RepositoryState, origin: EventOrigin): Promise<Outcome<null>> {
    return this.#write((db, nowMs) => changeRepositoryState(db, repository, state, origin, nowMs));
  }

  /**
   * Makes the repository vanish (src/registry/repository-deletion.ts): under the lock, so no tag
   * write of this name interleaves. False when the repository no longer bears its name, or, with
   * `abandonedBefore` (garbage collection of an abandoned first push), when a manifest, a tag or
   * push activity since then says it is not abandoned: a manifest commits under this lock, and
   * an upload records its activity in one statement, so either comes before or after this one.
   */
  async deleteRepository(repository: RepositoryRef, origin: EventOrigin, abandonedBefore?: number): Promise<boolean> {
    const onlyIf = abandonedBefore === undefined ? undefined : abandonedFirstPush(abandonedBefore);
    return this.#run(async (db) => {
      const event = await vanishRepository(db, repository, origin, onlyIf);
      return { value: event !== null, events: event ? [event] : [] };
    });
  }

  /**
   * One bounded garbage-collection pass over this repository (src/gc/repository-gc.ts), under the
   * lock, at `nowMs`. `name`, when given, is the name this object is keyed by: a repository that no
   * longer bears it is not collected here.
   */
  async collectGarbage(repositoryId: number, nowMs: number, name?: string): Promise<RepositoryCollection> {
    const options = { graceMs: graceMs(this.env), name };
    return this.#run((db) => collectRepository(db, repositoryId, nowMs, options));
  }
}
