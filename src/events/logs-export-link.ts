/**
 * The signed link a log export is delivered by (Quay gives a storage URL valid an hour, its
 * EXPORT_ACTION_LOGS_SECONDS): `<origin>/exportedlogs/<export id>.<expiry>.<mac>`, the expiry in
 * unix seconds and the mac an HMAC-SHA256 of both under a key derived from WHARF_SECRET_KEY for
 * this use alone (src/lib/signing.ts), so no other value Wharf computes with that key (sealed
 * secrets, derived ids) can pass for a link, nor a link for them.
 */
import { sign, verify } from "../lib/signing";

/** How long a link is good for: Quay's hour. */
export const EXPORT_LINK_SECONDS = 3600;

const USE = "wharf/v1/exported-logs-link";

const signed = (exportId: string, expiry: number) => `${exportId}.${expiry}`;

/** The link's last path segment for `exportId`, good until `nowMs` plus an hour. */
export async function signExportLink(env: { WHARF_SECRET_KEY?: string }, exportId: string, nowMs: number) {
  const expiry = Math.floor(nowMs / 1000) + EXPORT_LINK_SECONDS;
  const message = signed(exportId, expiry);
  return `${message}.${await sign(env, USE, message)}`;
}

export type LinkCheck = { ok: true; exportId: string } | { ok: false; why: "forged" | "expired" };

/** Whether `segment` is a link Wharf signed and still good at `nowMs` (the mac checked first). */
export async function checkExportLink(
  env: { WHARF_SECRET_KEY?: string },
  segment: string,
  nowMs: number,
): Promise<LinkCheck> {
  const match = /^([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(segment);
  if (!match) return { ok: false, why: "forged" };
  const [, exportId, expiry, mac] = match as unknown as [string, string, string, string];
  if (!(await verify(env, USE, signed(exportId, Number(expiry)), mac))) return { ok: false, why: "forged" };
  if (Number(expiry) * 1000 <= nowMs) return { ok: false, why: "expired" };
  return { ok: true, exportId };
}
