/**
 * The signed link a log export is delivered by (Quay gives a storage URL valid an hour, its
 * EXPORT_ACTION_LOGS_SECONDS): `<origin>/exportedlogs/<export id>.<expiry>.<mac>`, the expiry in
 * unix seconds and the mac an HMAC-SHA256 of both under a key derived from WHARF_SECRET_KEY for
 * this use alone (HMAC of the key with {@link LINK_KEY_LABEL}), so no other value Wharf computes
 * with that key (sealed secrets, derived ids) can pass for a link, nor a link for them.
 */
import { base64, base64url } from "../lib/encoding";

/** How long a link is good for: Quay's hour. */
export const EXPORT_LINK_SECONDS = 3600;

const LINK_KEY_LABEL = "wharf/v1/exported-logs-link";

const encoder = new TextEncoder();
const linkKeys = new Map<string, Promise<CryptoKey>>();

async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function linkKey(env: { WHARF_SECRET_KEY?: string }): Promise<CryptoKey> {
  const material = env.WHARF_SECRET_KEY ?? "";
  let key = linkKeys.get(material);
  if (!key) {
    const raw = base64.decode(material);
    if (raw?.length !== 32)
      throw new Error("WHARF_SECRET_KEY must be 32 bytes in base64 (wrangler secret put WHARF_SECRET_KEY)");
    key = hmacKey(raw)
      .then((root) => crypto.subtle.sign("HMAC", root, encoder.encode(LINK_KEY_LABEL)))
      .then((derived) => hmacKey(new Uint8Array(derived)));
    linkKeys.set(material, key);
  }
  return key;
}

const signed = (exportId: string, expiry: number) => encoder.encode(`${exportId}.${expiry}`);

/** The link's last path segment for `exportId`, good until `nowMs` plus an hour. */
export async function signExportLink(env: { WHARF_SECRET_KEY?: string }, exportId: string, nowMs: number) {
  const expiry = Math.floor(nowMs / 1000) + EXPORT_LINK_SECONDS;
  const mac = await crypto.subtle.sign("HMAC", await linkKey(env), signed(exportId, expiry));
  return `${exportId}.${expiry}.${base64url.encode(new Uint8Array(mac))}`;
}

export type LinkCheck = { ok: true; exportId: string } | { ok: false; why: "forged" | "expired" };

/** Whether `segment` is a link Wharf signed and still good at `nowMs` (the mac checked first). */
export async function checkExportLink(
  env: { WHARF_SECRET_KEY?: string },
  segment: string,
  nowMs: number,
): Promise<LinkCheck> {
  const match = /^([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(segment);
  const mac = match ? base64url.decode(match[3]!) : null;
  // Only the canonical encoding: the mac's last character has two bits that decode to nothing.
  if (!match || !mac || base64url.encode(mac) !== match[3]) return { ok: false, why: "forged" };
  const [, exportId, expiry] = match as unknown as [string, string, string];
  const valid = await crypto.subtle.verify("HMAC", await linkKey(env), mac, signed(exportId, Number(expiry)));
  if (!valid) return { ok: false, why: "forged" };
  if (Number(expiry) * 1000 <= nowMs) return { ok: false, why: "expired" };
  return { ok: true, exportId };
}
