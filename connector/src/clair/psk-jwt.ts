/**
 * Clair v4's pre-shared-key authentication, as Quay signs its requests (util/secscan/v4/api.py):
 * `Authorization: Bearer <JWT>`, HS256 over the base64-DECODED key, issuer "quay", valid 5 minutes.
 */
import { SignJWT } from "jose";

export async function clairAuthorization(pskBase64: string, now = Date.now()): Promise<string> {
  const key = Buffer.from(pskBase64, "base64");
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("quay")
    .setExpirationTime(Math.floor(now / 1000) + 300)
    .sign(new Uint8Array(key));
  return `Bearer ${token}`;
}
