/**
 * Whether a namespace is a proxy cache, as the hot paths ask it: every /v2 pull and every token
 * request naming a repository. The answer is kept in the isolate for {@link KEEP_MS}, so a
 * configuration created or deleted elsewhere takes effect within that time (at once in the isolate
 * that made the change); with FEATURE_PROXY_CACHE off nothing is read at all.
 */
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { and, eq } from "drizzle-orm";
import { proxyCacheConfigs, users, type ProxyCacheConfig } from "../db/schema";
import { clock } from "../lib/clock";

export const KEEP_MS = 10_000;
/** Namespaces remembered at most; past it the memory starts over (a few hundred bytes each). */
const MAX_KEPT = 2_000;

const kept = new Map<string, { config: ProxyCacheConfig | null; at: number }>();

/** The proxy-cache configuration of `namespace`, or undefined when it is none (or the feature is off). */
export async function proxyCacheFor(
  env: { FEATURE_PROXY_CACHE?: unknown },
  db: Db,
  namespace: string,
): Promise<ProxyCacheConfig | undefined> {
  if (!readConfig(env).FEATURE_PROXY_CACHE) return undefined;
  const now = clock.now();
  const hit = kept.get(namespace);
  if (hit && now - hit.at >= 0 && now - hit.at < KEEP_MS) return hit.config ?? undefined;
  const config = (await findProxyCache(db, namespace)) ?? null;
  if (kept.size >= MAX_KEPT) kept.clear();
  kept.set(namespace, { config, at: now });
  return config ?? undefined;
}

/** Drops what this isolate remembers of `namespace` (its configuration was just created or deleted here). */
export function forgetProxyCache(namespace: string): void {
  kept.delete(namespace);
}

/** The organization `namespace`'s proxy-cache configuration, or undefined when it is no cache. */
export async function findProxyCache(db: Db, namespace: string): Promise<ProxyCacheConfig | undefined> {
  const row = await db
    .select({ config: proxyCacheConfigs })
    .from(proxyCacheConfigs)
    .innerJoin(users, eq(users.id, proxyCacheConfigs.namespaceId))
    .where(and(eq(users.username, namespace), eq(users.kind, "organization")))
    .get();
  return row?.config;
}

/**
 * Whether `repository` of a cache organization was there before the organization became a cache
 * (both times D1's): such a repository is no cache's. Its members' pull-through would open it to
 * those without read on it, and the upstream's tags would overwrite what was pushed, so it keeps
 * its own permissions and is served as stored (src/routes/v2/auth.ts, src/routes/v2/pull-source.ts).
 */
export function predatesCache(config: ProxyCacheConfig, repository: { createdAt: number } | undefined): boolean {
  return repository !== undefined && repository.createdAt < config.createdAt;
}
