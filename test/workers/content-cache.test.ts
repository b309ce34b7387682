import { describe, expect, it } from "vitest";
import { ContentCache } from "../../src/storage/content-cache";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("ContentCache", () => {
  it("returns what was stored under a digest", () => {
    const cache = new ContentCache(100, 50);
    cache.set("a", bytes(10, 7));
    expect(cache.get("a")).toEqual(bytes(10, 7));
    expect(cache.get("b")).toBeUndefined();
  });

  it("refuses entries above the per-entry limit", () => {
    const cache = new ContentCache(100, 50);
    cache.set("big", bytes(51));
    expect(cache.get("big")).toBeUndefined();
  });

  it("evicts the least recently used entries to stay within its byte budget", () => {
    const cache = new ContentCache(100, 50);
    cache.set("a", bytes(40));
    cache.set("b", bytes(40));
    cache.get("a"); // a is now more recent than b
    cache.set("c", bytes(40));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });
});
