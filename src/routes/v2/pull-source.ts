/** Which {@link PullSource} answers a /v2 pull: the registry's own, or a proxy cache's around it. */
import type { Context } from "hono";
import { isReadOnly } from "../../config";
import type { AppEnv } from "../app-env";
import { requestEvents } from "../../middleware/event-scope";
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
  const config = isReadOnly(c.env) ? undefined : await proxyCacheFor(c.env, c.var.db, namespaceOf(repository));
  if (!config || predatesCache(config, await findRepository(c.var.db, repository)))
    return storedPulls(c.var.db, c.var.store);
  return proxiedPulls({ env: c.env, db: c.var.db, store: c.var.store, events: requestEvents(c), config });
}
