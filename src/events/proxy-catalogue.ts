/**
 * The proxy-cache kinds of the event catalogue (src/events/catalogue.ts spreads them into
 * `CATALOGUE`): an organization made a pull-through cache, or no longer one (Quay's
 * `create_proxy_cache_config` and `delete_proxy_cache_config` log kinds, endpoints/api/organization.py).
 * The namespace is the envelope's; there is no repository.
 */
import { z } from "zod";

export const PROXY_EVENTS = {
  /** `upstreamRegistry` as configured (`host` or `host/namespace`); never the credentials. */
  create_proxy_cache_config: z.object({ upstreamRegistry: z.string() }),
  delete_proxy_cache_config: z.object({}),
};
