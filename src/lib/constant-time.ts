/**
 * The one way Wharf compares a secret with what a caller presents (tokens, token hashes, CSRF
 * tokens, webhook secrets, client secrets, password hashes): in time that does not depend on where
 * the two differ, so that timing answers cannot be used to guess a secret one character at a time.
 * HMAC and signature checks use the platform's verify (`crypto.subtle.verify`, jose), which is
 * constant-time itself; lookups by a hash of the presented value (sessions, OAuth and connector
 * tokens) give an attacker no control over what is compared.
 */

const utf8 = new TextEncoder();

/**
 * Constant-time equality of two byte strings (workerd's `crypto.subtle.timingSafeEqual`). Strings of
 * different lengths are unequal at once: use it where the length is no secret (fixed-length hashes,
 * tokens of one format), else {@link sameSecret}.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** {@link timingSafeEqual} of two strings' UTF-8 bytes. */
export function sameString(a: string, b: string): boolean {
  return timingSafeEqual(utf8.encode(a), utf8.encode(b));
}

/**
 * Whether `presented` is `secret`, in time independent of both: each is hashed (SHA-256) first, so
 * the comparison is always of 32 bytes and tells nothing of the secret's length either.
 */
export async function sameSecret(presented: string, secret: string): Promise<boolean> {
  const [a, b] = await Promise.all([presented, secret].map((s) => crypto.subtle.digest("SHA-256", utf8.encode(s))));
  return timingSafeEqual(new Uint8Array(a!), new Uint8Array(b!));
}
