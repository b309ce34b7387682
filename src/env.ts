import type { Db } from "./db/client";
import type { AccessPolicy, Principal } from "./middleware/access";
import type { BlobStore } from "./storage/blob-store";

/** The hono environment of every route: bindings from wrangler.toml plus per-request services. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    db: Db;
    store: BlobStore;
    access: AccessPolicy;
    principal: Principal;
  };
};
