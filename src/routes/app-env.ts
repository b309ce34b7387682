/** The hono environment of every route: bindings from wrangler.toml plus per-request services. */
import type { Db } from "../db/client";
import type { ApiCaller, Principal } from "../identity/callers";
import type { PublicOrigin } from "../lib/public-url";
import type { BlobStore } from "../storage/blob-store";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** The origin and host the registry names itself by (src/lib/public-url.ts). */
    publicOrigin: PublicOrigin;
    /** `DB`: the directory, identity, permissions, policies, quota rules, proxy and mirror configurations. */
    db: Db;
    /**
     * The database holding the registry core (tags, manifests, blob links and rows) of the /v2
     * path's namespace (src/middleware/db-session.ts); `db` itself when that is `DB`, and anywhere
     * outside /v2 (a later stage gives /api/v1 its own).
     */
    core: Db;
    /** The number of `core`'s database (src/db/shards.ts): 0 is `DB`. */
    coreShard: number;
    /**
     * /v2 only: whether `db` and `core` may read D1 read replicas (src/middleware/db-session.ts);
     * anywhere else they are the plain binding, which reads the primary.
     */
    dbMode?: "primary" | "replica";
    store: BlobStore;
    /** /v2 only: the registry token's claims (src/middleware/access.ts). */
    principal: Principal;
    /** /api/v1 only: who is calling (src/middleware/api-caller.ts). */
    caller: ApiCaller;
    /** The error code an error answer was rendered with (src/app.ts onError), which the metrics count. */
    errorCode?: string;
  };
};
