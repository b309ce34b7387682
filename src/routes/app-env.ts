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
    db: Db;
    /**
     * /v2 only: whether `db` may read a D1 read replica (src/middleware/db-session.ts); anywhere
     * else `db` is the plain binding, which reads the primary.
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
