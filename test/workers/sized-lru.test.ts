import { describe, expect, it } from "vitest";
import { SizedLru } from "../../src/lib/sized-lru";

describe("SizedLru", () => {
  it("keeps the sum of its entries' sizes within its budget, however many large entries arrive", () => {
    const cache = new SizedLru<string, string>(10_000, 1_000);
    for (let i = 0; i < 5_000; i++) {
      cache.set(`k${i}`, "x".repeat(900), 900);
      expect(cache.size).toBeLessThanOrEqual(10_000);
    }
    expect(cache.count).toBe(11);
    expect(cache.size).toBe(11 * 900);
    // The survivors are the most recent ones, least recent first.
    expect([...cache.keys()]).toEqual(Array.from({ length: 11 }, (_, i) => `k${4_989 + i}`));
  });

  it("evicts the least recently used: a read makes an entry the most recent", () => {
    const cache = new SizedLru<string, number>(30, 30);
    cache.set("a", 1, 10);
    cache.set("b", 2, 10);
    cache.set("c", 3, 10);
    expect(cache.get("a")).toBe(1);
    cache.set("d", 4, 10);
    expect([...cache.keys()]).toEqual(["c", "a", "d"]);
    expect(cache.get("b")).toBeUndefined();
  });

  it("refuses an entry above the per-entry limit and accounts a replaced entry once", () => {
    const cache = new SizedLru<string, string>(100, 50);
    expect(cache.set("big", "…", 51)).toBe(false);
    expect(cache.get("big")).toBeUndefined();
    expect(cache.set("a", "one", 40)).toBe(true);
    cache.set("a", "two", 20);
    expect(cache.size).toBe(20);
    expect(cache.get("a")).toBe("two");
    cache.delete("a");
    expect(cache.size).toBe(0);
    expect(cache.count).toBe(0);
  });
});
