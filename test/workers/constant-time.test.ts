/** The one helper that compares secrets (src/lib/constant-time.ts), and the callers that must use it. */
import { describe, expect, it, vi } from "vitest";
import { sameSecret, sameString, timingSafeEqual } from "../../src/lib/constant-time";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("constant-time comparisons", () => {
  it("timingSafeEqual: equal bytes match; a byte or a length apart do not", () => {
    expect(timingSafeEqual(bytes(1, 2, 3), bytes(1, 2, 3))).toBe(true);
    expect(timingSafeEqual(bytes(), bytes())).toBe(true);
    expect(timingSafeEqual(bytes(1, 2, 3), bytes(1, 2, 4))).toBe(false);
    expect(timingSafeEqual(bytes(0, 2, 3), bytes(1, 2, 3))).toBe(false);
    expect(timingSafeEqual(bytes(1, 2, 3), bytes(1, 2))).toBe(false);
  });

  it("compares through the platform's constant-time primitive, never byte by byte in script", () => {
    const primitive = vi.spyOn(crypto.subtle, "timingSafeEqual");
    expect(sameString("csrf-token-a", "csrf-token-b")).toBe(false);
    expect(primitive).toHaveBeenCalledTimes(1);
    primitive.mockRestore();
  });

  it("sameString compares UTF-8, so look-alike strings of other code points do not match", () => {
    expect(sameString("token", "token")).toBe(true);
    expect(sameString("token", "tokeN")).toBe(false);
    expect(sameString("é", "e\u0301")).toBe(false);
    expect(sameString("", "")).toBe(true);
  });

  it("sameSecret matches only the same secret, whatever the lengths, hashing both before comparing", async () => {
    expect(await sameSecret("s3cret-webhook-value", "s3cret-webhook-value")).toBe(true);
    expect(await sameSecret("s3cret-webhook-valuE", "s3cret-webhook-value")).toBe(false);
    expect(await sameSecret("s3cret", "s3cret-webhook-value")).toBe(false);
    expect(await sameSecret("", "x")).toBe(false);
    // The comparison is of two 32-byte digests even when the lengths differ.
    const primitive = vi.spyOn(crypto.subtle, "timingSafeEqual");
    await sameSecret("a", "a much longer secret than the first");
    const [a, b] = primitive.mock.calls[0]! as unknown as [Uint8Array, Uint8Array];
    expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
    primitive.mockRestore();
  });
});
