/**
 * A least-recently-used map bounded by the summed size of its entries (a size the caller states
 * per entry, in bytes), not by their count: a Worker isolate has 128 MB, and a cache of a fixed
 * number of entries holds as much memory as its largest entries make it. Reading an entry makes it
 * the most recent; inserting past the budget evicts from the least recent end.
 */
export class SizedLru<K, V> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<K, { value: V; size: number }>();
  #size = 0;

  constructor(
    /** The budget: the most the entries' sizes may add up to. */
    readonly maxSize: number,
    /** Entries above this size are not kept (one would push out many others). */
    readonly maxEntrySize: number,
  ) {}

  /** The summed size of the entries held. */
  get size(): number {
    return this.#size;
  }

  get count(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` as the most recent entry; false (and nothing kept) when it is too large. */
  set(key: K, value: V, size: number): boolean {
    this.delete(key);
    if (size > this.maxEntrySize) return false;
    this.#entries.set(key, { value, size });
    this.#size += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#size <= this.maxSize) break;
      this.#entries.delete(oldest);
      this.#size -= entry.size;
    }
    return true;
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#size -= entry.size;
  }

  /** The keys, least recently used first. */
  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }
}
