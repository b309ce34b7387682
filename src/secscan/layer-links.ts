/**
 * The signed URLs Clair fetches a manifest's layers by (Quay hands Clair a storage URL or a
 * short-lived JWT-authorized blob URL, `util/secscan/blob.py`): `<origin>/connector/v1/layers/
 * <repository id>.<manifest hex>.<layer hex>.<expiry>.<mac>`, the expiry in unix seconds, the mac
 * an HMAC-SHA256 of the rest under a key derived from WHARF_SECRET_KEY for this use alone
 * (src/lib/signing.ts), so no other value Wharf signs can pass for a layer URL, nor a layer URL
 * for another. Good for 15 minutes and for that one layer of that manifest in that repository:
 * the route checks again that the repository still holds both.
 */
import { sign, verify } from "../lib/signing";
import type { Digest } from "../lib/digest";

/** How long a layer URL is good for (docs/connector.md). */
export const LAYER_LINK_SECONDS = 15 * 60;

const USE = "wharf/v1/connector-layer-link";

/** What a layer URL grants: one layer of one manifest, read through one repository. */
export interface LayerGrant {
  repositoryId: number;
  manifest: Digest;
  layer: Digest;
}

const hexOf = (digest: Digest) => digest.slice("sha256:".length);
const signed = (g: LayerGrant, expiry: number) => `${g.repositoryId}.${hexOf(g.manifest)}.${hexOf(g.layer)}.${expiry}`;

/** The URL's last path segment for `grant`, good until `nowMs` plus 15 minutes. */
export async function signLayerLink(env: { WHARF_SECRET_KEY?: string }, grant: LayerGrant, nowMs: number) {
  const expiry = Math.floor(nowMs / 1000) + LAYER_LINK_SECONDS;
  const message = signed(grant, expiry);
  return `${message}.${await sign(env, USE, message)}`;
}

export type LayerLinkCheck = { ok: true; grant: LayerGrant } | { ok: false; why: "forged" | "expired" };

/** Whether `segment` is a layer URL Wharf signed and still good at `nowMs` (the mac checked first). */
export async function checkLayerLink(
  env: { WHARF_SECRET_KEY?: string },
  segment: string,
  nowMs: number,
): Promise<LayerLinkCheck> {
  const match = /^(\d{1,15})\.([a-f0-9]{64})\.([a-f0-9]{64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(segment);
  if (!match) return { ok: false, why: "forged" };
  const grant: LayerGrant = {
    repositoryId: Number(match[1]),
    manifest: `sha256:${match[2]}`,
    layer: `sha256:${match[3]}`,
  };
  const expiry = Number(match[4]);
  if (!(await verify(env, USE, signed(grant, expiry), match[5]!))) return { ok: false, why: "forged" };
  if (expiry * 1000 <= nowMs) return { ok: false, why: "expired" };
  return { ok: true, grant };
}
