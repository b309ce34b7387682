/**
 * Reversible secrets: what Wharf shows again, as Quay does (`encrypted_password`, robot and
 * application tokens, OAuth client secrets), and the opaque page tokens of its listings.
 * AES-256-GCM under WHARF_SECRET_KEY, a 32-byte key in base64 set with `wrangler secret put`
 * (npm start generates one per state directory). Each value gets a fresh 96-bit IV; the output
 * is base64(iv ‖ ciphertext ‖ tag).
 */
import { base64, hex } from "../lib/encoding";

const keys = new Map<string, Promise<CryptoKey>>();

function secretKey(env: { WHARF_SECRET_KEY?: string }): Promise<CryptoKey> {
  const material = env.WHARF_SECRET_KEY;
  const raw = material ? base64.decode(material) : null;
  if (raw?.length !== 32) {
    throw new Error("WHARF_SECRET_KEY must be 32 bytes in base64 (wrangler secret put WHARF_SECRET_KEY)");
  }
  let key = keys.get(material!);
  if (!key) {
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(material!, key);
  }
  return key;
}

export async function encryptSecret(env: { WHARF_SECRET_KEY?: string }, plain: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await secretKey(env), new TextEncoder().encode(plain)),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return base64.encode(out);
}

/** The plain text, or null when `sealed` was not made by {@link encryptSecret} under this key. */
export async function decryptSecret(env: { WHARF_SECRET_KEY?: string }, sealed: string): Promise<string | null> {
  const bytes = base64.decode(sealed);
  if (!bytes || bytes.length < 12 + 16) return null;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12) },
      await secretKey(env),
      bytes.subarray(12),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/**
 * A stable secret value derived from WHARF_SECRET_KEY for `label` (HMAC-SHA256), shaped as a UUID:
 * for identifiers Quay stores as random UUIDs and Wharf need not store (a repository's badge
 * `status_token`). Nobody without the key can compute it; the same key always gives the same one.
 */
export async function derivedUuid(env: { WHARF_SECRET_KEY?: string }, label: string): Promise<string> {
  const material = env.WHARF_SECRET_KEY ?? "";
  let key = hmacKeys.get(material);
  if (!key) {
    const raw = base64.decode(material);
    if (raw?.length !== 32)
      throw new Error("WHARF_SECRET_KEY must be 32 bytes in base64 (wrangler secret put WHARF_SECRET_KEY)");
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(material, key);
  }
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(label))).slice(0, 16);
  mac[6] = (mac[6]! & 0x0f) | 0x80; // version 8: custom (RFC 9562 §5.8)
  mac[8] = (mac[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const h = hex(mac);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
