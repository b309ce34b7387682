/**
 * Runs async sections one at a time. A Durable Object's input gate only holds events while
 * *storage* operations are pending, so RPC calls that await D1 or R2 would otherwise interleave;
 * this is the lock that makes a Durable Object the serialization point the design needs.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section, section);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
