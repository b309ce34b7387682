/** Which {@link PullSource} answers a /v2 pull: the registry's own, or a proxy cache's around it. */
import type { Context } from "hono";
import { isReadOnly } from "../../config";
import type { AppEnv } from "../app-env";
import { mayAccess, serviceName } from "../../middleware/access";
import { requestEvents } from "../../middleware/event-scope";
import { pullFacts, type PullFacts } from "../../registry/pull-cache";
import { storedPulls, type PullSource } from "../../registry/pull";
import { namespaceOf } from "../../registry/repository-name";
import { predatesCache, proxyCacheFor } from "../../proxy/lookup";
import { findRepository } from "../../registry/repositories";
import { proxiedPulls } from "../../proxy/pull-through";

/**
 * A proxy cache fetches and stores what it does not hold: while the registry is read-only
 * (REGISTRY_STATE, src/middleware/read-only.ts) it serves only what it holds, as stored.
 */
export async function pullSourceOf(c: Context<AppEnv>, repository: string): Promise<PullSource> {
  const { db, core, store } = c.var;
  const config = isReadOnly(c.env) ? undefined : await proxyCacheFor(c.env, db, namespaceOf(repository));
  // A proxy-cache namespace never reads cached facts: what it holds changes as it fetches upstream.
  if (!config) return storedPulls(core, db, store, cachedFactsFor(c, repository));
  if (predatesCache(config, await findRepository(db, repository))) return storedPulls(core, db, store);
  return proxiedPulls({
    env: c.env,
    db,
    core: { shard: c.var.coreShard, db: core },
    store,
    events: requestEvents(c),
    config,
  });
}

/**
 * Cached pull facts (src/registry/pull-cache.ts) for a token that grants pull and neither push nor
 * delete on `repository` (its canonical name, parsed once by the route). A pusher reads D1, so its
 * blob HEAD keeps touching the blob for garbage collection (src/registry/blobs.ts), and whoever may
 * delete sees its own deletions at once in every isolate.
 */
function cachedFactsFor(c: Context<AppEnv>, repository: string): PullFacts | null {
  // Outside /v2 (the connector's signed layer URLs, src/routes/secscan.ts) no registry token was
  // read: such a caller reads D1.
  if (c.var.principal?.kind !== "token") return null;
  if (!mayAccess(c, "pull", repository) || mayAccess(c, "push", repository) || mayAccess(c, "delete", repository))
    return null;
  return pullFacts(c.env, { waitUntil: (work) => c.executionCtx.waitUntil(work), deployment: serviceName(c) });
}
