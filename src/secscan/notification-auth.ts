/**
 * Who may tell Wharf of Clair's notifications (`POST /secscan/notification`): Clair's notifier,
 * which signs its webhook with the pre-shared key when PSK auth is configured (an HS256 JWT,
 * issuer `clair-notifier`, in `Authorization: Bearer`). Quay verifies the signature (and the
 * expiry when there is one) with the base64-decoded SECURITY_SCANNER_V4_PSK and checks no claim.
 * Wharf also requires the expiry, and one at most {@link MAX_LIFETIME_SECONDS} ahead: Clair's
 * signer always sets it a minute ahead (internal/httputil/signer.go), and a token without one, or
 * good for a year, is a credential anyone who once saw it could replay. Quay takes unsigned calls
 * when it has no PSK; Wharf refuses them, since anyone could then make it rescan and notify at will.
 */
import { errors, jwtVerify } from "jose";
import { base64 } from "../lib/encoding";
import { clock } from "../lib/clock";

/** How far ahead a notifier's JWT may expire (Clair's: a minute). */
export const MAX_LIFETIME_SECONDS = 10 * 60;

export type NotificationAuth = { ok: true } | { ok: false; why: "no_psk" | "missing" | "invalid" };

export async function verifyNotifier(
  psk: string | undefined,
  authorization: string | undefined,
): Promise<NotificationAuth> {
  const key = psk ? base64.decode(psk.trim()) : null;
  if (!key || key.length === 0) return { ok: false, why: "no_psk" };
  const token = /^Bearer\s+([A-Za-z0-9_.-]+)$/i.exec(authorization?.trim() ?? "")?.[1];
  if (!token) return { ok: false, why: "missing" };
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
      currentDate: new Date(clock.now()),
    });
    if (payload.exp! > clock.now() / 1000 + MAX_LIFETIME_SECONDS) return { ok: false, why: "invalid" };
    return { ok: true };
  } catch (err) {
    if (err instanceof errors.JOSEError) return { ok: false, why: "invalid" };
    throw err;
  }
}
