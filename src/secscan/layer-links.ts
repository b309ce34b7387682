/**
 * The signed URLs Clair fetches a manifest's layers by (Quay hands Clair a storage URL or a
 * short-lived JWT-authorized blob URL, `util/secscan/blob.py`): `<origin>/connector/v1/layers/
 * <repository id>.<manifest hex>.<layer hex>.<expiry>.<mac>`, the expiry in unix seconds, the mac
 * an HMAC-SHA256 of the rest under a key derived from WHARF_SECRET_KEY for this use alone (HMAC of
 * the key with {@link LINK_KEY_LABEL}), so no other value Wharf signs can pass for a layer URL,
 * nor a layer URL for another. Good for 15 minutes and for that one layer of that manifest in
 * that repository: the route checks again that the repository still holds both.
 */
import { base64, base64url } from "../lib/encoding";
import type { Digest } from "../lib/digest";

/** How long a layer URL is good for (docs/connector.md). */
export const LAYER_LINK_SECONDS = 15 * 60;

const LINK_KEY_LABEL = "wharf/v1/connector-layer-link";

const encoder = new TextEncoder();
const linkKeys = new Map<string, Promise<CryptoKey>>();

const hmacKey = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

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

/** What a layer URL grants: one layer of one manifest, read through one repository. */
export interface LayerGrant {
  repositoryId: number;
  manifest: Digest;
  layer: Digest;
}

const hexOf = (digest: Digest) => digest.slice("sha256:".length);
const signed = (g: LayerGrant, expiry: number) =>
  encoder.encode(`${g.repositoryId}.${hexOf(g.manifest)}.${hexOf(g.layer)}.${expiry}`);

/** The URL's last path segment for `grant`, good until `nowMs` plus 15 minutes. */
export async function signLayerLink(env: { WHARF_SECRET_KEY?: string }, grant: LayerGrant, nowMs: number) {
  const expiry = Math.floor(nowMs / 1000) + LAYER_LINK_SECONDS;
  const mac = await crypto.subtle.sign("HMAC", await linkKey(env), signed(grant, expiry));
  return `${grant.repositoryId}.${hexOf(grant.manifest)}.${hexOf(grant.layer)}.${expiry}.${base64url.encode(new Uint8Array(mac))}`;
}

export type LayerLinkCheck = { ok: true; grant: LayerGrant } | { ok: false; why: "forged" | "expired" };

/** Whether `segment` is a layer URL Wharf signed and still good at `nowMs` (the mac checked first). */
export async function checkLayerLink(
  env: { WHARF_SECRET_KEY?: string },
  segment: string,
  nowMs: number,
): Promise<LayerLinkCheck> {
  const match = /^(\d{1,15})\.([a-f0-9]{64})\.([a-f0-9]{64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(segment);
  const mac = match ? base64url.decode(match[5]!) : null;
  // Only the canonical encoding: the mac's last character has two bits that decode to nothing.
  if (!match || !mac || base64url.encode(mac) !== match[5]) return { ok: false, why: "forged" };
  const grant: LayerGrant = {
    repositoryId: Number(match[1]),
    manifest: `sha256:${match[2]}`,
    layer: `sha256:${match[3]}`,
  };
  const expiry = Number(match[4]);
  const valid = await crypto.subtle.verify("HMAC", await linkKey(env), mac, signed(grant, expiry));
  if (!valid) return { ok: false, why: "forged" };
  if (expiry * 1000 <= nowMs) return { ok: false, why: "expired" };
  return { ok: true, grant };
}
