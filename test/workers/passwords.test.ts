import { describe, expect, it } from "vitest";
import { generatePassword, hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../../src/identity/passwords";

describe("password hashing", () => {
  it("verifies the right password, refuses a wrong one, and salts every hash", async () => {
    const a = await hashPassword("s3cret-pass");
    const b = await hashPassword("s3cret-pass");
    expect(a).not.toBe(b);
    expect(a.startsWith(`pbkdf2-sha256$${PBKDF2_ITERATIONS}$`)).toBe(true);
    expect(await verifyPassword("s3cret-pass", a)).toBe(true);
    expect(await verifyPassword("s3cret-pass ", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it.each([null, "", "plain", "pbkdf2-sha256$100000$$", "pbkdf2-sha256$999999$AAAA$AAAA", "md5$1$a$b"])(
    "never matches a malformed hash %j",
    async (stored) => {
      expect(await verifyPassword("anything", stored)).toBe(false);
    },
  );

  it("generates 32-character upper-case alphanumeric passwords", () => {
    const seen = new Set(Array.from({ length: 50 }, () => generatePassword()));
    expect(seen.size).toBe(50);
    for (const p of seen) expect(p).toMatch(/^[A-Z0-9]{32}$/);
  });
});
