/**
 * Password hashing: PBKDF2-HMAC-SHA256 with a per-user 16-byte salt, through WebCrypto.
 *
 * Why PBKDF2 at 100,000 iterations: workerd refuses more (ARCHITECTURE.md, platform limits), and
 * neither bcrypt nor argon2 exists in WebCrypto; a JavaScript bcrypt would spend the CPU budget
 * of a request for less strength per millisecond. The iteration count is stored with each hash, so
 * a later, stronger setting re-hashes at the next successful sign-in without a migration.
 */
import { base64url } from "../lib/encoding";
import { timingSafeEqual } from "../lib/constant-time";

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const PREFIX = "pbkdf2-sha256";

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return [PREFIX, PBKDF2_ITERATIONS, base64url.encode(salt), base64url.encode(hash)].join("$");
}

/**
 * A well-formed hash at today's iteration count that no password matches (its salt and hash are
 * zeros): checked when a login names no account, so that costs as much as a wrong password.
 */
export const DUMMY_PASSWORD_HASH = [PREFIX, PBKDF2_ITERATIONS, "A".repeat(22), "A".repeat(43)].join("$");

/** Whether `password` matches `stored`, compared in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split("$");
  if (parts?.length !== 4 || parts[0] !== PREFIX) return false;
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
  const salt = base64url.decode(parts[2]!);
  const expected = base64url.decode(parts[3]!);
  if (!salt || !expected || expected.length !== HASH_BITS / 8) return false;
  return timingSafeEqual(await derive(password, salt, iterations), expected);
}

const PASSWORD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * A generated password as Quay returns from `POST /api/v1/superuser/users/`: 32 characters of
 * upper-case letters and digits (~165 bits), drawn without modulo bias.
 */
export function generatePassword(length = 32): string {
  return randomString(PASSWORD_ALPHABET, length);
}

/** `length` characters of `alphabet`, uniformly: bytes past the largest multiple are redrawn. */
export function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}
