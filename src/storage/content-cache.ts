/**
 * A small in-isolate cache of content-addressed bytes (manifests). Content under a digest never
 * changes, so a hit can never be stale; whether the caller may see that digest is still decided
 * per request from D1. Bounded by total bytes, evicting the least recently used.
 */
export class ContentCache {
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  get(digest: string): Uint8Array | undefined {
    const hit = this.#entries.get(digest);
    if (hit) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recent.
      this.#entries.delete(digest);
      this.#entries.set(digest, hit);
    }
    return hit;
  }

  set(digest: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.maxEntryBytes || this.#entries.has(digest)) return;
    this.#entries.set(digest, bytes);
    this.#bytes += bytes.byteLength;
    for (const [key, value] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(key);
      this.#bytes -= value.byteLength;
    }
  }
}
