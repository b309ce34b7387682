/** An OpenID identity provider for robot federation tests, served to the Worker's `fetch`. */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { vi } from "vitest";

/**
 * Serves `issuer`'s OpenID discovery document and key set (one ES256 key, `k1`) through a `fetch`
 * stub, every other request going through; returns a signer of that issuer's ID tokens for a
 * subject, valid for five minutes.
 */
export async function serveIdentityProvider(issuer: string): Promise<(subject: string) => Promise<string>> {
  const pair = await generateKeyPair("ES256");
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }] };
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new Request(input as RequestInfo).url;
    if (url === `${issuer}/.well-known/openid-configuration`)
      return Response.json({ issuer, jwks_uri: `${issuer}/certs` });
    if (url === `${issuer}/certs`) return Response.json(jwks);
    return realFetch(input, init);
  });
  return (subject) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(pair.privateKey);
  };
}
