/**
 * Rotating the registry-token signing key with overlap (src/identity/registry-tokens.ts): new
 * tokens are signed with WHARF_TOKEN_KEY and name it by `kid`; tokens signed with the key rotated
 * out verify while WHARF_TOKEN_KEY_PREVIOUS holds it, until they expire; nothing else verifies.
 */
import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, decodeProtectedHeader, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  signRegistryToken,
  TOKEN_ISSUER,
  TOKEN_TTL_SECONDS,
  verifyRegistryToken,
} from "../../src/identity/registry-tokens";
import { pushImage, request, subjectNamed } from "./helpers/registry";

const AUDIENCE = "registry.test";
const REPO = "rotation/app";

async function newKey(): Promise<JsonWebKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
}

const publicHalf = ({ kty, crv, x, y }: JsonWebKey) => ({ kty, crv, x, y });
const thumbprint = (jwk: JsonWebKey) =>
  calculateJwkThumbprint(publicHalf(jwk) as Parameters<typeof calculateJwkThumbprint>[0]);

let oldKey: JsonWebKey;
let newKeyJwk: JsonWebKey;
const access = [{ type: "repository" as const, name: REPO, actions: ["pull"] }];

beforeAll(async () => {
  oldKey = await newKey();
  newKeyJwk = await newKey();
});

const mint = async (key: JsonWebKey, now?: number) =>
  (
    await signRegistryToken(
      { WHARF_TOKEN_KEY: JSON.stringify(key) },
      AUDIENCE,
      { subject: { kind: "anonymous" }, access },
      now,
    )
  ).token;

describe("registry token key rotation", () => {
  it("signs new tokens with the current key, naming it by kid (its JWK thumbprint)", async () => {
    const token = await mint(newKeyJwk);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", kid: await thumbprint(newKeyJwk) });
  });

  it("verifies a token of the previous key while WHARF_TOKEN_KEY_PREVIOUS holds it (private or public JWK)", async () => {
    const old = await mint(oldKey);
    const rotating = { WHARF_TOKEN_KEY: JSON.stringify(newKeyJwk), WHARF_TOKEN_KEY_PREVIOUS: JSON.stringify(oldKey) };
    expect(await verifyRegistryToken(rotating, old, AUDIENCE)).toMatchObject({ access });
    const publicOnly = { ...rotating, WHARF_TOKEN_KEY_PREVIOUS: JSON.stringify(publicHalf(oldKey)) };
    // Another token, so that the verification cache does not answer for the first.
    expect(await verifyRegistryToken(publicOnly, await mint(oldKey), AUDIENCE)).toMatchObject({ access });
    expect(await verifyRegistryToken(rotating, await mint(newKeyJwk), AUDIENCE)).toMatchObject({ access });
  });

  it("refuses the previous key's tokens once WHARF_TOKEN_KEY_PREVIOUS is removed, and when they expire", async () => {
    const current = { WHARF_TOKEN_KEY: JSON.stringify(newKeyJwk) };
    expect(await verifyRegistryToken(current, await mint(oldKey), AUDIENCE)).toBeNull();
    const longAgo = Math.floor(Date.now() / 1000) - TOKEN_TTL_SECONDS - 60;
    const rotating = { ...current, WHARF_TOKEN_KEY_PREVIOUS: JSON.stringify(oldKey) };
    expect(await verifyRegistryToken(rotating, await mint(oldKey, longAgo), AUDIENCE)).toBeNull();
  });

  it("refuses a token whose kid names neither key, or that names the previous kid but is signed by another key", async () => {
    const rotating = { WHARF_TOKEN_KEY: JSON.stringify(newKeyJwk), WHARF_TOKEN_KEY_PREVIOUS: JSON.stringify(oldKey) };
    const stranger = await newKey();
    const now = Math.floor(Date.now() / 1000);
    const forge = async (kid: string | undefined, key: JsonWebKey) =>
      new SignJWT({ access, context: { kind: "anonymous" } })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", ...(kid ? { kid } : {}) })
        .setIssuer(TOKEN_ISSUER)
        .setSubject("")
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(await crypto.subtle.importKey("jwk", key, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]));
    expect(await verifyRegistryToken(rotating, await forge(await thumbprint(stranger), stranger), AUDIENCE)).toBeNull();
    expect(await verifyRegistryToken(rotating, await forge(await thumbprint(oldKey), stranger), AUDIENCE)).toBeNull();
    expect(await verifyRegistryToken(rotating, await forge(undefined, stranger), AUDIENCE)).toBeNull();
    // No kid: the current key's, as every token before kids were checked.
    expect(await verifyRegistryToken(rotating, await forge(undefined, newKeyJwk), AUDIENCE)).toMatchObject({ access });
  });

  describe("through the Worker", () => {
    const bindings = env as unknown as { WHARF_TOKEN_KEY: string; WHARF_TOKEN_KEY_PREVIOUS?: string };
    const runKey = bindings.WHARF_TOKEN_KEY;
    afterEach(() => {
      bindings.WHARF_TOKEN_KEY = runKey;
      delete bindings.WHARF_TOKEN_KEY_PREVIOUS;
    });

    it("a client holding a token of the rotated-out key keeps pulling until the previous key is removed", async () => {
      await pushImage(REPO, "latest");
      const subject = await subjectNamed("rotation");
      const held = (
        await signRegistryToken(env, AUDIENCE, {
          subject,
          access: [{ type: "repository", name: REPO, actions: ["pull"] }],
        })
      ).token;
      // The operator rotates: the new key becomes WHARF_TOKEN_KEY, the run's key the previous one.
      bindings.WHARF_TOKEN_KEY = JSON.stringify(newKeyJwk);
      bindings.WHARF_TOKEN_KEY_PREVIOUS = runKey;
      const pull = () => request("GET", `/v2/${REPO}/manifests/latest`, { token: held });
      expect((await pull()).status).toBe(200);
      // /v2/auth now signs with the new key.
      const fresh = await request("GET", `/v2/auth?scope=repository:${REPO}:pull&service=${AUDIENCE}`, { token: null });
      const { token } = (await fresh.json()) as { token: string };
      expect(decodeProtectedHeader(token).kid).toBe(await thumbprint(newKeyJwk));
      delete bindings.WHARF_TOKEN_KEY_PREVIOUS;
      // A token another isolate had cached stays cached until it expires; a new one is refused.
      const other = (await signRegistryToken({ WHARF_TOKEN_KEY: runKey }, AUDIENCE, { subject, access })).token;
      expect((await request("GET", `/v2/${REPO}/manifests/latest`, { token: other })).status).toBe(401);
    });
  });
});
