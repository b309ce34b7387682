import type { ApiCaller } from "./api/caller";
import type { Db } from "./db/client";
import type { PublicOrigin } from "./lib/public-url";
import type { Principal } from "./middleware/access";
import type { BlobStore } from "./storage/blob-store";

/** The hono environment of every route: bindings from wrangler.toml plus per-request services. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** The origin and host the registry names itself by (src/lib/public-url.ts). */
    publicOrigin: PublicOrigin;
    db: Db;
    store: BlobStore;
    principal: Principal;
    /** /api/v1 only: who is calling (src/api/caller.ts). */
    caller: ApiCaller;
  };
};

declare global {
  /**
   * Secrets: set with `wrangler secret put`, never in wrangler.toml, so `wrangler types` cannot
   * see them. npm start generates local values per state directory (scripts/start.mjs).
   */
  interface Env extends WharfSecrets {}
  namespace Cloudflare {
    interface Env extends WharfSecrets {}
  }
}

interface WharfSecrets {
  /** 32 bytes, base64: AES-256-GCM key for secrets an admin must read back (src/identity/secrets.ts). */
  WHARF_SECRET_KEY?: string;
  /** P-256 private JWK (JSON) signing the Docker registry tokens (src/identity/registry-tokens.ts). */
  WHARF_TOKEN_KEY?: string;
}
