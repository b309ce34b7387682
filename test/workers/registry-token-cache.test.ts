/**
 * The registry-token verification cache (issue #12, item 7f): bounded by bytes, not by count, so
 * tokens an anonymous caller mints in bulk cannot fill the isolate's 128 MB; least recently used
 * tokens go first, and a cached token's signature is not checked again (spied, not timed).
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  signRegistryToken,
  TOKEN_CACHE_MAX_BYTES,
  TOKEN_CACHE_MAX_ENTRY_BYTES,
  tokenCacheStats,
  verifyRegistryToken,
  type AccessEntry,
} from "../../src/identity/registry-tokens";

const AUDIENCE = "cache.test";

async function anonymousToken(scopes: number): Promise<string> {
  const run = crypto.randomUUID().slice(0, 8);
  const access: AccessEntry[] = Array.from({ length: scopes }, (_, i) => ({
    type: "repository",
    name: `${run}/repository-${i}`,
    actions: [],
  }));
  return (await signRegistryToken(env, AUDIENCE, { subject: { kind: "anonymous" }, access })).token;
}

afterEach(() => vi.restoreAllMocks());

describe("the verification cache", () => {
  it("stays within its byte budget while many tokens are verified, evicting the least recently used", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 1_500; i++) tokens.push(await anonymousToken(30));
    for (const token of tokens) {
      expect(await verifyRegistryToken(env, token, AUDIENCE)).not.toBeNull();
      expect(tokenCacheStats().bytes).toBeLessThanOrEqual(TOKEN_CACHE_MAX_BYTES);
    }
    const stats = tokenCacheStats();
    expect(stats.entries).toBeLessThan(tokens.length);
    expect(stats.bytes).toBeGreaterThan(TOKEN_CACHE_MAX_BYTES / 2);

    // Keep the oldest survivor in use, then push more through: it stays, its neighbours go.
    const verify = vi.spyOn(crypto.subtle, "verify");
    const survivor = tokens[tokens.length - stats.entries]!;
    const neighbour = tokens[tokens.length - stats.entries + 1]!;
    await verifyRegistryToken(env, survivor, AUDIENCE);
    expect(verify).not.toHaveBeenCalled();
    for (let i = 0; i < 10; i++) await verifyRegistryToken(env, await anonymousToken(30), AUDIENCE);
    verify.mockClear();
    await verifyRegistryToken(env, survivor, AUDIENCE);
    expect(verify).not.toHaveBeenCalled();
    await verifyRegistryToken(env, neighbour, AUDIENCE);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("does not keep a token whose claims would cost more than an entry may, and still verifies it", async () => {
    const large = await anonymousToken(100);
    expect(large.length * 2).toBeGreaterThan(TOKEN_CACHE_MAX_ENTRY_BYTES);
    const before = tokenCacheStats();
    const verify = vi.spyOn(crypto.subtle, "verify");
    expect((await verifyRegistryToken(env, large, AUDIENCE))?.access).toHaveLength(100);
    expect((await verifyRegistryToken(env, large, AUDIENCE))?.access).toHaveLength(100);
    expect(verify).toHaveBeenCalledTimes(2);
    expect(tokenCacheStats()).toEqual(before);
  });

  it("answers a cached token only for the audience it was verified for", async () => {
    const token = await anonymousToken(1);
    expect(await verifyRegistryToken(env, token, AUDIENCE)).not.toBeNull();
    expect(await verifyRegistryToken(env, token, "other.test")).toBeNull();
  });
});
