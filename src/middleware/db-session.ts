/**
 * Which copy of D1 a /v2 request reads (D1 read replication through the Sessions API). A read
 * replica answers near the client; the primary answers everything but may be far away. A replica
 * can lag the primary, so only requests that can live with that read one:
 *
 * - a GET or HEAD whose token grants pull but neither push nor delete on the path's repository:
 *   `withSession(bookmark)` when the token carries the `bm` claim signed at /v2/auth (the replica
 *   is then at least as new as the primary was when the token was minted: a pull-only token minted
 *   after a push sees that push), else `withSession("first-unconstrained")` (any replica);
 * - everything else (writes, a pusher's own HEADs and GETs, which must see what it just pushed, the
 *   catalog, requests without a token): `withSession("first-primary")`.
 *
 * Two databases (docs/sharding-the-registry-core.md): `db` reads `DB` (the directory, identity,
 * permissions, policies, quota rules, proxy configurations) and `core` the database holding the
 * path namespace's registry core (src/db/core-shards.ts): tags, manifests, blob links and rows.
 * When that is `DB`, `core` is `db`, the one session. When it is a shard, the bookmark is the
 * shard's (what a push changed is there) and `db` reads any replica of `DB`: the repository
 * rows a pull reads there are asked of the primary before a miss is answered, as below.
 *
 * A read that finds nothing on a replica is asked once more of the primary before the answer is
 * a 404 ({@link withPrimaryRetry}): a replica behind a push made after the token was minted would
 * otherwise deny what exists. The other way round (a replica still showing what was deleted after
 * the token was minted) lasts until the replica catches up, and with a bookmark at most the
 * token's remaining life (300 s): the next token's bookmark is newer than the delete. D1 documents
 * no bound on replica lag itself, so a token without a bookmark has only that (and so does `DB`'s
 * directory for a namespace whose core is on a shard: a deleted repository read there). Permissions
 * are not read here at all: a pull-only token holds its answer, read from the primary, for its five
 * minutes (src/identity/registry-tokens.ts).
 *
 * Writes within a replica session go to the primary (D1 forwards them), so a HEAD's touch of a
 * blob (src/registry/blobs.ts) still lands. Choosing wrongly (a path this parses differently from
 * the router) costs consistency or latency, never access: the routes check the token themselves.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Db, database, sessionDb } from "../db/client";
import { coreShardOf } from "../db/core-shards";
import type { Shard } from "../db/shards";
import { DomainError } from "../errors/domain";
import { claimsGrant } from "../identity/registry-tokens";
import { type CoreClient, type CoreResolver, writableCore } from "../registry/core-db";
import { canonicalRepositoryName, nameRules, namespaceOf } from "../registry/repository-name";
import type { AppEnv } from "../routes/app-env";

export type DbMode = "primary" | "replica";

/**
 * The database holding `namespace`'s registry core (src/db/core-shards.ts), which its pulls read
 * and its token's bookmark comes from; `DB` without a namespace (the catalog, the base).
 */
function coreShardFor(env: Env, namespace: string | null): Promise<Shard> {
  return namespace === null ? Promise.resolve({ number: 0, binding: env.DB }) : coreShardOf(env, namespace);
}

/**
 * The `bm` claim for `bookmark`, a bookmark of shard `shard`: as D1 wrote it for `DB`, prefixed
 * with the shard's number for a `DB_SHARD_<n>`. A bookmark means something only to the database
 * it came from, and the namespace's core may be placed (or moved) within the token's life.
 */
export function bookmarkClaim(shard: number, bookmark: string | null): string | undefined {
  if (bookmark === null) return undefined;
  return shard === 0 ? bookmark : `s${shard}:${bookmark}`;
}

/**
 * The session constraint a pull-only request reads shard `shard` with, from its token's `bm`: the
 * bookmark when it is that shard's; any replica without one; the primary when it is another
 * database's (the core moved since the token was minted: nothing then says how new a replica must be).
 */
function replicaConstraint(shard: number, claim: string | undefined): string {
  if (claim === undefined) return "first-unconstrained";
  const tagged = /^s(\d+):(.+)$/.exec(claim);
  const [claimShard, bookmark] = tagged ? [Number(tagged[1]), tagged[2]!] : [0, claim];
  return claimShard === shard ? bookmark : "first-primary";
}

// distribution routes: `/v2/<name>/{manifests,blobs,tags,referrers}/…`, the name as greedy as the
// router's `:name{.+}` (src/routes/v2/*.ts).
const REPOSITORY_PATH = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//;

/** The canonical repository a /v2 path names, or null (the catalog, the base, a malformed name). */
export function pathRepository(c: Context<AppEnv>): string | null {
  const raw = REPOSITORY_PATH.exec(c.req.path)?.[1];
  return raw === undefined ? null : canonicalRepositoryName(raw, nameRules(c.env));
}

/** Whether the request may read a replica: a GET or HEAD of a pull-only token on the path's repository. */
export function readsReplica(c: Context<AppEnv>, repository: string | null): boolean {
  const { principal } = c.var;
  if (repository === null || principal.kind !== "token") return false;
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return false;
  const grants = (action: string) => claimsGrant(principal.claims, "repository", repository, action);
  return grants("pull") && !grants("push") && !grants("delete");
}

interface Clients {
  db: Db;
  core: Db;
}

/** The clients of a session on `DB` and one on `shard` (the same one when `shard` is `DB`). */
function openClients(env: Env, shard: Shard, dbConstraint: string, coreConstraint: string): Clients {
  if (shard.number === 0) {
    const db = sessionDb(env.DB.withSession(coreConstraint));
    return { db, core: db };
  }
  return {
    db: sessionDb(env.DB.withSession(dbConstraint)),
    core: sessionDb(shard.binding.withSession(coreConstraint)),
  };
}

// The primary-reading clients of a request that reads a replica, built on first need, and the
// core's shard of each /v2 request.
const primaries = new WeakMap<Request, Clients>();
const shards = new WeakMap<Request, Shard>();

/**
 * Mounted after authenticateRegistry: sets `db` (over the request's session on `DB`), `core` (over
 * its session on the path namespace's core database, `db` itself when that is `DB`), `coreShard`
 * and `dbMode`.
 */
export function chooseDbSession(): MiddlewareHandler<AppEnv> {
  return async function dbSession(c, next) {
    const repository = pathRepository(c);
    const shard = await coreShardFor(c.env, repository === null ? null : namespaceOf(repository));
    shards.set(c.req.raw, shard);
    const { principal } = c.var;
    const replica = readsReplica(c, repository) && principal.kind === "token";
    const clients = replica
      ? openClients(c.env, shard, "first-unconstrained", replicaConstraint(shard.number, principal.claims.bookmark))
      : openClients(c.env, shard, "first-primary", "first-primary");
    c.set("db", clients.db);
    c.set("core", clients.core);
    c.set("coreShard", shard.number);
    c.set("dbMode", replica ? "replica" : "primary");
    await next();
  };
}

function primaryClients(c: Context<AppEnv>): Clients {
  if (c.var.dbMode !== "replica") return { db: c.var.db, core: c.var.core };
  let clients = primaries.get(c.req.raw);
  if (!clients) {
    const shard = shards.get(c.req.raw) ?? { number: 0, binding: c.env.DB };
    clients = openClients(c.env, shard, "first-primary", "first-primary");
    primaries.set(c.req.raw, clients);
  }
  return clients;
}

/**
 * A client that reads the primary of `DB`, for what must not read a replica (a retry after a
 * replica's miss). Outside /v2, and in /v2 requests on the primary, that is `c.var.db` itself.
 */
export function primaryDb(c: Context<AppEnv>): Db {
  return primaryClients(c).db;
}

/**
 * A session that reads the primary of `DB`, and the bookmark the token signs: /v2/auth reads a
 * token's grants through it. A bookmark is one database's, so there is none without a single
 * namespace (`null`); it is the namespace's core database's, which its pulls read. When that is a
 * shard, a session on its primary runs one cheap read (a session that ran no query has no
 * bookmark), begun at once so that it costs the token no round trip of its own.
 */
export async function primarySession(
  env: Env,
  namespace: string | null,
): Promise<{ db: Db; bookmark: () => Promise<string | undefined> }> {
  const session = env.DB.withSession("first-primary");
  const db = sessionDb(session);
  if (namespace === null) return { db, bookmark: async () => undefined };
  const shard = await coreShardFor(env, namespace);
  if (shard.number === 0) return { db, bookmark: async () => session.getBookmark() ?? undefined };
  const core = shard.binding.withSession("first-primary");
  const reached = core
    .prepare("select 1")
    .first()
    .then(
      () => core.getBookmark(),
      (err: unknown) => {
        // A token without a bookmark reads any replica: weaker, and still a token.
        console.error(
          JSON.stringify({ msg: "core shard bookmark unavailable", shard: shard.number, err: String(err) }),
        );
        return null;
      },
    );
  return { db, bookmark: async () => bookmarkClaim(shard.number, await reached) };
}

/**
 * The client a push writes `repository`'s core through, for domain steps that may create the
 * repository first (src/registry/repositories.ts `ensureRepository`): the request's `core` when
 * the write goes to the database it reads (always, but for a namespace placed by this very write,
 * src/db/core-shards.ts), else a client over the database the write places it on.
 */
export function pushCores(c: Context<AppEnv>): CoreResolver {
  return async (repository) => {
    const written = await writableCore(c.env, repository);
    return written.shard === c.var.coreShard ? { shard: written.shard, db: c.var.core } : written;
  };
}

/**
 * The client over the core of `repository`, which may be another namespace's than the path's (a
 * mount's source): the request's `core` when it is in the same database, else that database's
 * primary.
 */
export async function readableCore(c: Context<AppEnv>, repository: string): Promise<CoreClient> {
  const shard = await coreShardOf(c.env, namespaceOf(repository));
  return { shard: shard.number, db: shard.number === c.var.coreShard ? c.var.core : database(shard.binding) };
}

/** Whether an error says something does not exist (a 404 on every surface). */
function isMiss(err: unknown): boolean {
  if (err instanceof DomainError) return err.kind === "not_found";
  return err instanceof Error && (err as { status?: unknown }).status === 404;
}

/**
 * Runs a lookup that reads `c.var.db` and `c.var.core`; when they read replicas and find nothing,
 * switches the request to the primaries and runs it once more, so replica lag never turns into a
 * false 404.
 */
export async function withPrimaryRetry<T>(c: Context<AppEnv>, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (c.var.dbMode !== "replica" || !isMiss(err)) throw err;
    const primary = primaryClients(c);
    c.set("db", primary.db);
    c.set("core", primary.core);
    c.set("dbMode", "primary");
    return lookup();
  }
}
