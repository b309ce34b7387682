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
 * A read that finds nothing on a replica is asked once more of the primary before the answer is
 * a 404 ({@link withPrimaryRetry}): a replica behind a push made after the token was minted would
 * otherwise deny what exists. The other way round (a replica still showing what was deleted after
 * the token was minted) lasts until the replica catches up, and with a bookmark at most the
 * token's remaining life (300 s): the next token's bookmark is newer than the delete. D1 documents
 * no bound on replica lag itself, so a token without a bookmark has only that. Permissions are not
 * read here at all: a pull-only token holds its answer, read from the primary, for its five
 * minutes (src/identity/registry-tokens.ts).
 *
 * Writes within a replica session go to the primary (D1 forwards them), so a HEAD's touch of a
 * blob (src/registry/blobs.ts) still lands. Choosing wrongly (a path this parses differently from
 * the router) costs consistency or latency, never access: the routes check the token themselves.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Db, sessionDb } from "../db/client";
import { DomainError } from "../errors/domain";
import { claimsGrant } from "../identity/registry-tokens";
import { canonicalRepositoryName, nameRules, namespaceOf } from "../registry/repository-name";
import type { AppEnv } from "../routes/app-env";

export type DbMode = "primary" | "replica";

/**
 * The D1 binding holding `namespace`'s registry tables. One database today; sharding by namespace
 * replaces this body (src/db/shards.ts `namespaceBinding`), so every session opens through here.
 */
export function registryBinding(env: Env, _namespace: string | null): Promise<D1Database> {
  return Promise.resolve(env.DB);
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

// The primary-reading client of a request that reads a replica, built on first need.
const primaries = new WeakMap<Request, Db>();
const bindings = new WeakMap<Request, D1Database>();

/** Mounted after authenticateRegistry: sets `db` (over the request's D1 session) and `dbMode`. */
export function chooseDbSession(): MiddlewareHandler<AppEnv> {
  return async function dbSession(c, next) {
    const repository = pathRepository(c);
    const binding = await registryBinding(c.env, repository === null ? null : namespaceOf(repository));
    bindings.set(c.req.raw, binding);
    const { principal } = c.var;
    if (readsReplica(c, repository) && principal.kind === "token") {
      c.set("db", sessionDb(binding.withSession(principal.claims.bookmark ?? "first-unconstrained")));
      c.set("dbMode", "replica");
    } else {
      c.set("db", sessionDb(binding.withSession("first-primary")));
      c.set("dbMode", "primary");
    }
    await next();
  };
}

/**
 * A client that reads the primary, for what must not read a replica (a retry after a replica's
 * miss). Outside /v2, and in /v2 requests on the primary, that is `c.var.db` itself.
 */
export function primaryDb(c: Context<AppEnv>): Db {
  if (c.var.dbMode !== "replica") return c.var.db;
  let db = primaries.get(c.req.raw);
  if (!db) {
    db = sessionDb((bindings.get(c.req.raw) ?? c.env.DB).withSession("first-primary"));
    primaries.set(c.req.raw, db);
  }
  return db;
}

/**
 * A session that reads the primary in `namespace`'s database, and the bookmark it reached: /v2/auth
 * reads a token's grants through it and signs the bookmark into the token. A bookmark belongs to
 * one database, so there is none without a single namespace (`null`).
 */
export async function primarySession(
  env: Env,
  namespace: string | null,
): Promise<{ db: Db; bookmark: () => string | undefined }> {
  const session = (await registryBinding(env, namespace)).withSession("first-primary");
  return {
    db: sessionDb(session),
    bookmark: () => (namespace === null ? undefined : (session.getBookmark() ?? undefined)),
  };
}

/** Whether an error says something does not exist (a 404 on every surface). */
function isMiss(err: unknown): boolean {
  if (err instanceof DomainError) return err.kind === "not_found";
  return err instanceof Error && (err as { status?: unknown }).status === 404;
}

/**
 * Runs a lookup that reads `c.var.db`; when it reads a replica and finds nothing, switches the
 * request to the primary and runs it once more, so replica lag never turns into a false 404.
 */
export async function withPrimaryRetry<T>(c: Context<AppEnv>, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (c.var.dbMode !== "replica" || !isMiss(err)) throw err;
    c.set("db", primaryDb(c));
    c.set("dbMode", "primary");
    return lookup();
  }
}
