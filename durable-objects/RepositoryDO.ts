/**
 * One Durable Object per repository (keyed by its name): every tag write, manifest delete and
 * garbage-collection pass of the repository runs here, one at a time, the way Quay takes a
 * per-repository lock around tag moves. Concurrent pushes to one tag therefore never lose an
 * update, a tag's lifetimes never overlap, and a collection never removes a manifest that a push
 * committing here is about to point at. Pulls never come here.
 */
import { DurableObject } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { readConfig } from "../src/config";
import type { RegistryEvent } from "../src/events/catalogue";
import type { EventOrigin, RepositoryRef } from "../src/events/envelope";
import { publishEvents } from "../src/events/outbox";
import { database, runBatch, type Statement } from "../src/db/client";
import { manifests, tags } from "../src/db/schema";
import { graceMs } from "../src/gc/grace";
import { collectRepository, type RepositoryCollection } from "../src/gc/repository-gc";
import { Mutex } from "../src/lib/mutex";
import { DomainError } from "../src/errors/domain";
import { capture, type Outcome } from "../src/errors/outcome";
import { unlinkUnneededBlob } from "../src/registry/blobs";
import {
  commitManifestStatements,
  requireLinkedBlobs,
  requireManifests,
  resolveManifest,
  type ManifestCommit,
} from "../src/registry/manifests";
import { repositoryIsLive } from "../src/registry/repositories";
import { abandonedFirstPush, vanishRepository } from "../src/registry/repository-deletion";
import {
  deleteTag,
  endTags,
  putTag,
  removeFromTimeMachine,
  restoreTag,
  type TagChange,
} from "../src/registry/tag-writes";
import { aliveAt, endTagStatement, findAliveTag, retargetTagStatements } from "../src/registry/tags";
import type { Digest } from "../src/registry/reference";
import { clock } from "../src/lib/clock";

/** Quay names the hidden tag that protects a manifest pushed by digest `$temp-…`; no tag can start with `$`. */
const TEMPORARY_TAG_PREFIX = "$temp-";

const immutableDenied = (name: string) =>
  new DomainError("conflict", { subject: "tag", detail: { tag: name, reason: "the tag is immutable" } });

export class RepositoryDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();

  /** Runs `fn` under the repository's lock with a D1 client, capturing domain errors. */
  #locked<T>(fn: (db: ReturnType<typeof database>) => Promise<T>): Promise<Outcome<T>> {
    return capture(() => this.#mutex.run(() => fn(database(this.env.DB))));
  }

  /**
   * Records a manifest and, when pushed by tag, points the tag at it, in one D1 batch. Pushed by
   * digest, it gets Quay's hidden temporary tag for PUSH_TEMP_TAG_EXPIRATION_SEC, so garbage
   * collection spares it while the push goes on (an index's children come before the index).
   */
  async commitManifest(commit: ManifestCommit): Promise<Outcome<{ tagMoved: boolean }>> {
    return this.#locked(async (db) => {
      // A repository deleted since the push began (deleteRepository, under this same lock) must
      // not get rows again: the push fails as if the name were unknown.
      if (!(await repositoryIsLive(db, commit.repositoryId, commit.repositoryName))) {
        throw new DomainError("not_found", { subject: "repository", detail: { name: commit.repositoryName } });
      }
      // Checked before the lock too; again here because garbage collection removes manifests and
      // a blob DELETE unlinks blobs under this lock, so only this answer is certain.
      await requireManifests(db, commit.repositoryId, commit.parsed.manifests);
      await requireLinkedBlobs(db, commit.repositoryId, commit.parsed.blobs);
      const statements: Statement[] = [...commitManifestStatements(db, commit)];
      const now = clock.now();
      let tagMoved = false;
      if (commit.tag !== null) {
        const alive = await findAliveTag(db, commit.repositoryId, commit.tag, now);
        const current = alive
          ? await db
              .select({ digest: manifests.digest })
              .from(manifests)
              .where(eq(manifests.id, alive.manifestId))
              .get()
          : undefined;
        // Pushing the manifest a tag already points at leaves its history alone, as Quay does.
        if (current?.digest !== commit.digest) {
          if (alive?.immutable) throw immutableDenied(commit.tag);
          const endMs = commit.expiresAtMs;
          statements.push(
            ...retargetTagStatements(db, commit.repositoryId, commit.tag, commit.digest, alive, now, { endMs }),
          );
          tagMoved = true;
        }
      } else {
        const graceMs = readConfig(this.env).PUSH_TEMP_TAG_EXPIRATION_SEC * 1000;
        const name = `${TEMPORARY_TAG_PREFIX}${crypto.randomUUID()}`;
        statements.push(
          ...retargetTagStatements(db, commit.repositoryId, name, commit.digest, undefined, now, {
            endMs: now + graceMs,
            hidden: true,
          }),
        );
      }
      await runBatch(db, statements);
      return { tagMoved };
    });
  }

  /**
   * Makes the repository vanish (src/registry/repository-deletion.ts): under the lock, so no tag
   * write of this name interleaves. False when the repository no longer bears its name, or, with
   * `abandonedBefore` (garbage collection of an abandoned first push), when a manifest, a tag or
   * push activity since then says it is not abandoned: a manifest commits under this lock, and
   * an upload records its activity in one statement, so either comes before or after this one.
   */
  async deleteRepository(repository: RepositoryRef, origin: EventOrigin, abandonedBefore?: number): Promise<boolean> {
    return this.#mutex.run(async () => {
      const onlyIf = abandonedBefore === undefined ? undefined : abandonedFirstPush(abandonedBefore);
      const event = await vanishRepository(database(this.env.DB), repository, origin, onlyIf);
      if (event) this.#publish([event]);
      return event !== null;
    });
  }

  /** Publishes events this object committed, after answering (src/events/outbox.ts). */
  #publish(events: RegistryEvent[]): void {
    if (events.length > 0) this.ctx.waitUntil(publishEvents(this.env, events));
  }

  /** Ends the tag's alive lifetime (DELETE /v2/<name>/manifests/<tag>). */
  async deleteTag(repositoryId: number, name: string): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      const now = clock.now();
      const alive = await findAliveTag(db, repositoryId, name, now);
      if (!alive || alive.hidden) throw new DomainError("not_found", { subject: "manifest", detail: { tag: name } });
      if (alive.immutable) throw immutableDenied(name);
      await endTagStatement(db, alive, now);
      return null;
    });
  }

  /**
   * Deletes a manifest by digest: ends every alive tag pointing at it and hides it from /v2, as
   * Quay does. Its row stays for the tag history; garbage collection reclaims it later. Refused
   * while an immutable tag points at it.
   */
  async deleteManifest(repositoryId: number, digest: Digest): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      const manifest = await resolveManifest(db, repositoryId, { kind: "digest", digest });
      const now = clock.now();
      const pointing = and(eq(tags.repositoryId, repositoryId), eq(tags.manifestId, manifest.id), aliveAt(now));
      const immutable = await db
        .select({ name: tags.name })
        .from(tags)
        .where(and(pointing, eq(tags.immutable, true)))
        .get();
      if (immutable) throw immutableDenied(immutable.name);
      await db.batch([
        db
          .update(tags)
          .set({ lifetimeEndMs: sql`max(${now}, ${tags.lifetimeStartMs})` })
          .where(pointing),
        db.update(manifests).set({ deletedAt: now }).where(eq(manifests.id, manifest.id)),
      ]);
      return null;
    });
  }

  /**
   * Unlinks a blob from the repository (DELETE /v2/<name>/blobs/<digest>) unless a live manifest
   * of the repository needs it: then 405 UNSUPPORTED naming that manifest (issue #12; Quay refuses
   * every blob delete with UNSUPPORTED). Under the lock, so a manifest commit that names the blob
   * either comes first (and the delete is refused) or re-checks the link and is refused.
   */
  async deleteBlob(repositoryId: number, digest: Digest): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      const outcome = await unlinkUnneededBlob(db, repositoryId, digest);
      if (outcome.unlinked) return null;
      if (!outcome.neededBy) throw new DomainError("not_found", { subject: "blob", detail: { digest } });
      throw new DomainError("conflict", {
        subject: "blob",
        detail: { digest, manifest: outcome.neededBy },
        message: `blob ${digest} is referenced by manifest ${outcome.neededBy}; delete that manifest first`,
      });
    });
  }

  /** `PUT /api/v1/repository/{repo}/tag/{tag}` (src/registry/tag-writes.ts). */
  async putTag(
    repositoryId: number,
    name: string,
    change: TagChange,
  ): Promise<Outcome<{ created: boolean; moved: boolean }>> {
    const maxExpirationMs = readConfig(this.env).MAXIMUM_TAG_EXPIRATION * 1000;
    return this.#locked((db) => putTag(db, repositoryId, name, change, { maxExpirationMs }, clock.now()));
  }

  /** `DELETE /api/v1/repository/{repo}/tag/{tag}`. */
  async deleteTagByApi(repositoryId: number, name: string): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      await deleteTag(db, repositoryId, name, clock.now());
      return null;
    });
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/restore`. */
  async restoreTag(repositoryId: number, name: string, digest: Digest): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      await restoreTag(db, repositoryId, name, digest, clock.now());
      return null;
    });
  }

  /** `POST /api/v1/repository/{repo}/tag/{tag}/expire` (PERMANENTLY_DELETE_TAGS). */
  async removeFromTimeMachine(
    repositoryId: number,
    name: string,
    digest: Digest,
    isAlive: boolean,
  ): Promise<Outcome<null>> {
    return this.#locked(async (db) => {
      await removeFromTimeMachine(db, repositoryId, name, digest, isAlive, clock.now());
      return null;
    });
  }

  /** Auto-prune: ends the named alive tags (immutable ones stay); returns those ended. */
  async endTags(repositoryId: number, names: string[]): Promise<string[]> {
    return this.#mutex.run(() => endTags(database(this.env.DB), repositoryId, names, clock.now()));
  }

  /**
   * One bounded garbage-collection pass over this repository (src/gc/repository-gc.ts), under the
   * lock. `name`, when given, is the name this object is keyed by: a repository that no longer
   * bears it is not collected here.
   */
  async collectGarbage(repositoryId: number, nowMs: number, name?: string): Promise<RepositoryCollection> {
    const options = { graceMs: graceMs(this.env), name };
    return this.#mutex.run(() => collectRepository(database(this.env.DB), repositoryId, nowMs, options));
  }
}
