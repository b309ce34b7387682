/**
 * The lock of one blob of one proxy-cache organization (keyed by `<namespace>@<digest>`): every
 * miss of that blob waits here while the first one fetches it from the upstream and stores it
 * (src/proxy/blob-fill.ts), then finds it stored. The object keeps no state of its own; the
 * caller passes the organization's configuration as it read it.
 */
import { DurableObject } from "cloudflare:workers";
import { database } from "../src/db/client";
import type { ProxyCacheConfig } from "../src/db/schema";
import { capture, type Outcome } from "../src/errors/outcome";
import { Mutex } from "../src/lib/mutex";
import { type BlobFill, fillBlob } from "../src/proxy/blob-fill";
import { upstreamConfigOf } from "../src/proxy/config";
import { openUpstream } from "../src/proxy/upstream";
import { R2BlobStore } from "../src/storage/r2-blob-store";
import type { EventOrigin } from "../src/events/envelope";
import { eventScope } from "../src/events/outbox";

export class ProxyBlobDO extends DurableObject<Env> {
  readonly #mutex = new Mutex();

  /** Fills the blob into the cache repository (see src/proxy/blob-fill.ts). */
  async fill(config: ProxyCacheConfig, request: BlobFill, origin: EventOrigin): Promise<Outcome<null>> {
    return capture(() =>
      this.#mutex.run(async () => {
        const upstream = openUpstream(this.env, await upstreamConfigOf(this.env, config));
        const scope = {
          env: this.env,
          db: database(this.env.DB),
          store: new R2BlobStore(this.env.BLOBS),
          events: eventScope(this.env, origin, (p) => this.ctx.waitUntil(p)),
        };
        await fillBlob(scope, upstream, request);
        return null;
      }),
    );
  }
}
