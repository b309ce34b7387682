/**
 * The MACs Wharf signs links and passwords with: a filedrop's upload and download URLs, a build's
 * `$build` password, the layer URLs Clair fetches, a log export's download link. Each use has its
 * own key, an HMAC of WHARF_SECRET_KEY with the use's label, so no value Wharf computes with that
 * key for another use (sealed secrets, derived ids, another use's MACs) can pass for one of these.
 * Verification is the platform's HMAC verify, constant-time.
 */
import { base64, base64url } from "./encoding";

export type SigningUse =
  | "wharf/v1/filedrop-upload"
  | "wharf/v1/filedrop-download"
  | "wharf/v1/build-credential"
  | "wharf/v1/connector-layer-link"
  | "wharf/v1/exported-logs-link";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function keyFor(env: { WHARF_SECRET_KEY?: string }, use: SigningUse): Promise<CryptoKey> {
  const material = env.WHARF_SECRET_KEY ?? "";
  const cacheKey = `${use}\u0000${material}`;
  let key = keys.get(cacheKey);
  if (!key) {
    const raw = base64.decode(material);
    if (raw?.length !== 32)
      throw new Error("WHARF_SECRET_KEY must be 32 bytes in base64 (wrangler secret put WHARF_SECRET_KEY)");
    key = hmacKey(raw)
      .then((root) => crypto.subtle.sign("HMAC", root, encoder.encode(use)))
      .then((derived) => hmacKey(new Uint8Array(derived)));
    keys.set(cacheKey, key);
  }
  return key;
}

/** The base64url MAC of `message` for `use`. */
export async function sign(env: { WHARF_SECRET_KEY?: string }, use: SigningUse, message: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await keyFor(env, use), encoder.encode(message));
  return base64url.encode(new Uint8Array(mac));
}

/** Whether `mac` (base64url, canonical) is the MAC of `message` for `use`. */
export async function verify(
  env: { WHARF_SECRET_KEY?: string },
  use: SigningUse,
  message: string,
  mac: string,
): Promise<boolean> {
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(mac) ? base64url.decode(mac) : null;
  // Only the canonical encoding: the last character has two bits that decode to nothing.
  if (!bytes || base64url.encode(bytes) !== mac) return false;
  return crypto.subtle.verify("HMAC", await keyFor(env, use), bytes, encoder.encode(message));
}
