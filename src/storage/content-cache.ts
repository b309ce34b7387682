/**
 * A small in-isolate cache of content-addressed bytes (manifests). Content under a digest never
 * changes, so a hit can never be stale; whether the caller may see that digest is still decided
 * per request from D1. Bounded by total bytes, evicting the least recently used.
 */
import { SizedLru } from "../lib/sized-lru";

export class ContentCache {
  readonly #entries: SizedLru<string, Uint8Array>;

  constructor(maxBytes: number, maxEntryBytes: number) {
    this.#entries = new SizedLru(maxBytes, maxEntryBytes);
  }

  get(digest: string): Uint8Array | undefined {
    return this.#entries.get(digest);
  }

  set(digest: string, bytes: Uint8Array): void {
    this.#entries.set(digest, bytes, bytes.byteLength);
  }

  clear(): void {
    for (const digest of [...this.#entries.keys()]) this.#entries.delete(digest);
  }
}
