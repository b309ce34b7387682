/**
 * The client over the database holding a repository's registry core (src/db/core-shards.ts), for
 * the writers: the repository's Durable Objects and the push steps before them. A namespace whose
 * core is on a `DB_SHARD_<n>` needs the shard's shadow rows of the repository and its namespace
 * before its first core row there (foreign keys: src/db/core-shadows.ts); this makes them, then
 * trusts them for DIRECTORY_CACHE_MS in this isolate (a rename or a new repository of the same
 * name is another key, so it is made again at once).
 */
import { readConfig } from "../config";
import { database, type Db } from "../db/client";
import { ensureShadows, readShadowSource } from "../db/core-shadows";
import { coreShardOf, writableCoreShard } from "../db/core-shards";
import { DIRECTORY_CACHE_MS, NamespaceMovingError, type Shard } from "../db/shards";
import { DomainError } from "../errors/domain";
import { clock } from "../lib/clock";
import { SizedLru } from "../lib/sized-lru";
import { namespaceOf } from "./repository-name";

const shadowed = new SizedLru<string, number>(1 << 18, 64);

/**
 * The two clients a write under the repository's lock (durable-objects/RepositoryDO.ts) gets: `db`
 * over `DB` (the directory: the repository's state, its mirror, policies, quota rules,
 * permissions) and `core` over the database holding the namespace's registry core (tags,
 * manifests, their references, labels and blob links, with the shadows and the outbox rows of
 * the writes that change them). The same client when the core is in `DB`.
 */
export interface WriteClients {
  db: Db;
  core: Db;
}

/** What a writer knows of the repository it writes to: its id and name in `DB`. */
export interface CoreTarget {
  id: number;
  name: string;
}

/** A client over a repository's core and the number of the database it is on (0: `DB`). */
export interface CoreClient {
  shard: number;
  db: Db;
}

/**
 * How a writer that may create the repository first gets the client over its core (the push
 * steps, the ingest of upstream content): the repository is created in `DB`, then its core's
 * client asked for (src/registry/repositories.ts `ensureRepository`).
 */
export type CoreResolver = (repository: CoreTarget) => Promise<CoreClient>;

/**
 * The client a write to `repository`'s core goes through, with its shadows ensured: `DB` itself
 * (no query) when the namespace's core is there.
 */
export async function writableCoreDb(env: Env, repository: CoreTarget): Promise<Db> {
  return (await writableCore(env, repository)).db;
}

/** {@link writableCoreDb} with the number of its database, which an upload session keeps. */
export async function writableCore(env: Env, repository: CoreTarget): Promise<CoreClient> {
  const shard = await writableCoreShardOf(env, namespaceOf(repository.name));
  const core = database(shard.binding);
  if (shard.number === 0) return { shard: 0, db: core };
  const key = `${shard.number}:${repository.id}:${repository.name}`;
  const at = shadowed.get(key);
  if (at !== undefined && clock.now() - at < DIRECTORY_CACHE_MS) return { shard: shard.number, db: core };
  const source = await readShadowSource(database(env.DB), repository.id);
  // The repository vanished from `DB` meanwhile: its writes refuse on their own (the write guard
  // reads `DB`); a shadow made now would only outlive it.
  if (source && source.repository.name === repository.name) {
    await ensureShadows(core, source);
    shadowed.set(key, clock.now(), key.length * 2 + 16);
  }
  return { shard: shard.number, db: core };
}

/**
 * The database a write to `namespace`'s core goes to now. With SHARD_REGISTRY_CORE off a placement
 * would leave the core in `DB` (core_shard null): a namespace the directory has not placed is
 * written there without placing it, which would cost a push a directory write for nothing (its
 * action logs place it when they are written). A namespace whose core is being moved between
 * databases (src/registry/core-moves.ts) is refused as a read-only repository is, for a minute or two.
 */
export async function writableCoreShardOf(env: Env, namespace: string): Promise<Shard> {
  try {
    return await writableCoreShard(env, namespace, readConfig(env).SHARD_REGISTRY_CORE);
  } catch (err) {
    if (!(err instanceof NamespaceMovingError)) throw err;
    const message = `Namespace ${namespace} is being moved between databases; its writes resume within minutes`;
    throw new DomainError("read_only", { message, fields: { error: message }, headers: { "Retry-After": "60" } });
  }
}

/** {@link writableCore} as a resolver, for writers that have no request's sessions (the ingest, tests). */
export function writableCores(env: Env): CoreResolver {
  return (repository) => writableCore(env, repository);
}

/** The client reads of `repository`'s core go through (no query when no shard is configured). */
export async function readableCoreDb(env: Env, repository: string): Promise<Db> {
  return database((await coreShardOf(env, namespaceOf(repository))).binding);
}

/** Forgets which shadows this isolate made (tests; a vanish, which renames the shard's shadow). */
export function forgetShadows(): void {
  for (const key of [...shadowed.keys()]) shadowed.delete(key);
}
