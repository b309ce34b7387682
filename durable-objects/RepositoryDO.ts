/**
 * One Durable Object per repository (keyed by its name): every tag write and manifest delete of
 * the repository runs here, one at a time, the way Quay takes a per-repository lock around tag
 * moves. Concurrent pushes to one tag therefore never lose an update, and a tag's lifetimes never
 * overlap. Pulls never come here.
 */
import { DurableObject } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { database, runBatch, type Statement } from "../src/db/client";
import { manifests, tags } from "../src/db/schema";
import { Mutex } from "../src/lib/mutex";
import { RegistryError } from "../src/oci/errors";
import { capture, type Outcome } from "../src/oci/outcome";
import { commitManifestStatements, resolveManifest, type ManifestCommit } from "../src/registry/manifests";
import { repositoryIsLive } from "../src/registry/repositories";
import { vanishStatements } from "../src/registry/repository-deletion";
import { aliveAt, findAliveTag, retargetTagStatements } from "../src/registry/tags";
import type { Digest } from "../src/registry/reference";

export class RepositoryDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();

  /** Records a manifest and, when pushed by tag, points the tag at it, in one D1 batch. */
  async commitManifest(commit: ManifestCommit): Promise<Outcome<{ tagMoved: boolean }>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const db = database(this.env.DB);
        // A repository deleted since the push began (deleteRepository, under this same lock) must
        // not get rows again: the push fails as if the name were unknown.
        if (!(await repositoryIsLive(db, commit.repositoryId, commit.repositoryName))) {
          throw new RegistryError("NAME_UNKNOWN", { name: commit.repositoryName });
        }
        const statements: Statement[] = [...commitManifestStatements(db, commit)];
        let tagMoved = false;
        if (commit.tag !== null) {
          const now = Date.now();
          const alive = await findAliveTag(db, commit.repositoryId, commit.tag, now);
          const current = alive
            ? await db.select({ digest: manifests.digest }).from(manifests).where(eq(manifests.id, alive.manifestId)).get()
            : undefined;
          // Pushing the manifest a tag already points at leaves its history alone, as Quay does.
          if (current?.digest !== commit.digest) {
            statements.push(...retargetTagStatements(db, commit.repositoryId, commit.tag, commit.digest, alive, now));
            tagMoved = true;
          }
        }
        await runBatch(db, statements);
        return { tagMoved };
      }),
    );
  }

  /**
   * Makes the repository vanish (src/registry/repository-deletion.ts): under the lock, so no tag
   * write of this name interleaves. False when `repositoryId` no longer bears `name`.
   */
  async deleteRepository(repositoryId: number, name: string): Promise<boolean> {
    return this.#mutex.run(async () => {
      const db = database(this.env.DB);
      const [renamed] = await db.batch(vanishStatements(db, repositoryId, name));
      return renamed.length > 0;
    });
  }

  /** Ends the tag's alive lifetime (DELETE /v2/<name>/manifests/<tag>). */
  async deleteTag(repositoryId: number, name: string): Promise<Outcome<null>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const db = database(this.env.DB);
        const now = Date.now();
        const alive = await findAliveTag(db, repositoryId, name, now);
        if (!alive) throw new RegistryError("MANIFEST_UNKNOWN", { tag: name });
        await db.update(tags).set({ lifetimeEndMs: Math.max(now, alive.lifetimeStartMs) }).where(eq(tags.id, alive.id));
        return null;
      }),
    );
  }

  /**
   * Deletes a manifest by digest: ends every alive tag pointing at it and hides it from /v2, as
   * Quay does. Its row stays for the tag history; garbage collection reclaims it later.
   */
  async deleteManifest(repositoryId: number, digest: Digest): Promise<Outcome<null>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const db = database(this.env.DB);
        const manifest = await resolveManifest(db, repositoryId, { kind: "digest", digest });
        const now = Date.now();
        await db.batch([
          db
            .update(tags)
            .set({ lifetimeEndMs: sql`max(${now}, ${tags.lifetimeStartMs})` })
            .where(and(eq(tags.repositoryId, repositoryId), eq(tags.manifestId, manifest.id), aliveAt(now))),
          db.update(manifests).set({ deletedAt: now }).where(eq(manifests.id, manifest.id)),
        ]);
        return null;
      }),
    );
  }
}
