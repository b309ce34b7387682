/**
 * The Docker registry token (distribution "Token Authentication Specification" and "Token
 * Authentication Implementation"): a short-lived JWT, signed ES256 with WHARF_TOKEN_KEY (a P-256
 * private JWK set with `wrangler secret put`; npm start generates one per state directory), whose
 * `access` claim lists exactly the actions granted. /v2 verifies signature, algorithm, issuer,
 * audience, expiry and then the access claim on every request.
 *
 * Rotation with overlap: tokens are signed with WHARF_TOKEN_KEY only, their header naming it by
 * `kid` (its JWK thumbprint); WHARF_TOKEN_KEY_PREVIOUS, when set, is the key rotated out, whose
 * tokens still verify until they expire (registry tokens live 5 minutes, federated robot tokens an
 * hour): set it to the old key when putting the new one, and delete it after the longest lifetime.
 */
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT, type JWK, type JWTVerifyGetKey } from "jose";
import { SizedLru } from "../lib/sized-lru";
import { clock } from "../lib/clock";

export const TOKEN_ISSUER = "wharf";
/** Seconds a registry token lives. Clients fetch a new one when it runs out (spec: expires_in). */
export const TOKEN_TTL_SECONDS = 300;

export interface AccessEntry {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

/**
 * Who the token was issued to: /v2 needs it for per-caller answers such as `_catalog`, and writes
 * re-check it (src/middleware/access.ts). The account's id travels with its name: a user deleted
 * and re-created under the same name is another account, and the old tokens are not theirs.
 */
export type TokenSubject =
  | { kind: "anonymous" }
  | { kind: "user"; name: string; id: number }
  /**
   * A build's `$build` credential (src/builds/build-credential.ts): lease `attempt` of build
   * `build`'s job, the lease fingerprinted `lease` (a hash of its token: the number alone comes back).
   */
  | { kind: "build"; name: "$build"; build: string; attempt: number; lease: string };

export interface RegistryClaims {
  subject: TokenSubject;
  access: AccessEntry[];
  /**
   * The D1 session bookmark of the primary when the token was minted (claim `bm`; D1 read
   * replication): a pull-only request reads a replica at least that new
   * (src/middleware/db-session.ts). Clients never send bookmarks back, but they do send tokens.
   */
  bookmark?: string;
}

/**
 * A D1 bookmark as D1 writes one (`00000000-00000024-00000000-<32 hex>` locally; opaque by the
 * documentation): only such are signed, and a token carrying anything else is no token.
 */
const BOOKMARK_MAX_CHARS = 128;
export function isBookmark(value: unknown): value is string {
  return typeof value === "string" && value.length <= BOOKMARK_MAX_CHARS && /^[0-9A-Za-z._:-]+$/.test(value);
}

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  kid: string;
}

/** The secrets holding the token keys: the current one, and the one rotated out (optional). */
export type TokenKeyEnv = { WHARF_TOKEN_KEY?: string; WHARF_TOKEN_KEY_PREVIOUS?: string };

const keyCache = new Map<string, Promise<SigningKeys>>();
const publicKeyCache = new Map<string, Promise<VerificationKey>>();

interface VerificationKey {
  publicKey: CryptoKey;
  kid: string;
  publicJwk: JWK;
}

export function signingKeys(env: { WHARF_TOKEN_KEY?: string }): Promise<SigningKeys> {
  const material = env.WHARF_TOKEN_KEY;
  if (!material)
    throw new Error("WHARF_TOKEN_KEY is not set (wrangler secret put WHARF_TOKEN_KEY: a P-256 private JWK)");
  let keys = keyCache.get(material);
  if (!keys) {
    keys = (async () => {
      const jwk = JSON.parse(material) as JWK;
      if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d)
        throw new Error("WHARF_TOKEN_KEY must be a P-256 private JWK");
      const { publicKey, kid } = await verificationKey(material, "WHARF_TOKEN_KEY");
      return { privateKey: (await importJWK(jwk, "ES256")) as CryptoKey, publicKey, kid };
    })();
    keyCache.set(material, keys);
  }
  return keys;
}

/** The public half of a P-256 JWK (private or public: a rotated-out key needs only its public half). */
function verificationKey(material: string, name: string): Promise<VerificationKey> {
  let key = publicKeyCache.get(material);
  if (!key) {
    key = (async () => {
      let jwk: JWK;
      try {
        jwk = JSON.parse(material) as JWK;
      } catch {
        throw new Error(`${name} is not JSON: it must be a P-256 JWK`);
      }
      if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error(`${name} must be a P-256 JWK`);
      const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
      return {
        publicKey: (await importJWK(publicJwk, "ES256")) as CryptoKey,
        kid: await calculateJwkThumbprint(publicJwk),
        publicJwk,
      };
    })();
    publicKeyCache.set(material, key);
  }
  return key;
}

/**
 * The public halves of the signing keys, by `kid`: the current one and, during a rotation, the
 * previous one. Cloudflare never gives a secret back, so an operator who did not keep the current
 * private key puts this public half as WHARF_TOKEN_KEY_PREVIOUS to rotate with overlap.
 */
export async function tokenPublicKeys(
  env: TokenKeyEnv,
): Promise<{ kid: string; role: "current" | "previous"; public_jwk: JWK }[]> {
  const keys: { kid: string; role: "current" | "previous"; public_jwk: JWK }[] = [];
  if (env.WHARF_TOKEN_KEY) {
    const current = await verificationKey(env.WHARF_TOKEN_KEY, "WHARF_TOKEN_KEY");
    keys.push({ kid: current.kid, role: "current", public_jwk: current.publicJwk });
  }
  if (env.WHARF_TOKEN_KEY_PREVIOUS) {
    const previous = await verificationKey(env.WHARF_TOKEN_KEY_PREVIOUS, "WHARF_TOKEN_KEY_PREVIOUS");
    keys.push({ kid: previous.kid, role: "previous", public_jwk: previous.publicJwk });
  }
  return keys;
}

/**
 * The keys a token of this registry may be signed with, by `kid`: the current key and, during a
 * rotation, the previous one. A token without a `kid` is the current key's (none is issued so); a
 * `kid` naming neither key verifies nothing.
 */
export async function tokenVerificationKeys(env: TokenKeyEnv): Promise<JWTVerifyGetKey> {
  const current = await signingKeys(env);
  const previous = env.WHARF_TOKEN_KEY_PREVIOUS
    ? await verificationKey(env.WHARF_TOKEN_KEY_PREVIOUS, "WHARF_TOKEN_KEY_PREVIOUS")
    : null;
  return (header) => {
    if (header.kid === undefined || header.kid === current.kid) return current.publicKey;
    if (previous && header.kid === previous.kid) return previous.publicKey;
    throw new Error("the token's kid names no key of this registry");
  };
}

export async function signRegistryToken(
  env: { WHARF_TOKEN_KEY?: string },
  audience: string,
  claims: RegistryClaims,
  now = Math.floor(clock.now() / 1000),
): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
  const keys = await signingKeys(env);
  const bookmark = isBookmark(claims.bookmark) ? { bm: claims.bookmark } : {};
  const token = await new SignJWT({ access: claims.access, context: claims.subject, ...bookmark })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: keys.kid })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(claims.subject.kind === "anonymous" ? "" : claims.subject.name)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + TOKEN_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(keys.privateKey);
  return { token, expiresIn: TOKEN_TTL_SECONDS, issuedAt: new Date(now * 1000).toISOString() };
}

/**
 * The claims of a valid token for `audience`, or null: a bad signature, another algorithm
 * (`alg: none` included), another issuer or audience, an expired or not-yet-valid token, or a
 * malformed access claim all count as no token.
 */
export async function verifyRegistryToken(
  env: TokenKeyEnv,
  token: string,
  audience: string,
): Promise<RegistryClaims | null> {
  const known = verified.get(token);
  if (known && known.expiresAtMs <= clock.now()) verified.delete(token);
  // A token has one audience: cached for another, it is verified (and refused) below.
  else if (known && known.audience === audience) return known.claims;
  const keys = await tokenVerificationKeys(env);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      issuer: TOKEN_ISSUER,
      audience,
      currentDate: clock.date(),
      clockTolerance: 5,
    });
    const access = payload.access;
    const context = payload.context as TokenSubject | undefined;
    if (!Array.isArray(access) || !access.every(isAccessEntry)) return null;
    if (!context || !validSubject(context)) return null;
    if (payload.bm !== undefined && !isBookmark(payload.bm)) return null;
    const claims: RegistryClaims = {
      subject: context,
      access,
      ...(payload.bm === undefined ? {} : { bookmark: payload.bm }),
    };
    verified.set(
      token,
      { claims, audience, expiresAtMs: payload.exp! * 1000 },
      2 * token.length + audience.length + ENTRY_OVERHEAD_BYTES,
    );
    return claims;
  } catch {
    return null;
  }
}

/**
 * A client sends the same token with every request of a pull or push (hundreds for one image):
 * its ES256 signature is checked once per isolate and the claims kept until the token expires.
 * Tokens are immutable, so a cached answer is the answer verification would give.
 *
 * Bounded by bytes, least recently used out first: anyone may mint anonymous tokens of 100 scopes
 * in bulk, and 10,000 of them (the former count bound) held 152 MB of heap, past an isolate's
 * 128 MB. An entry costs about twice its token's length: the token string (the key) and the
 * claims decoded from it (measured: 15.6 KB of heap for an 8.5 KB token). By cost: every token
 * saves the same one signature check when cached, so a large one buys that saving with much more
 * memory; tokens over TOKEN_CACHE_MAX_ENTRY_BYTES (about 35 scopes; clients ask for one or two)
 * are verified on each request instead of cached.
 */
export const TOKEN_CACHE_MAX_BYTES = 4 * 1024 * 1024;
export const TOKEN_CACHE_MAX_ENTRY_BYTES = 8 * 1024;
/** The audience, the entry's object and its Map slot. */
const ENTRY_OVERHEAD_BYTES = 256;
const verified = new SizedLru<string, { claims: RegistryClaims; audience: string; expiresAtMs: number }>(
  TOKEN_CACHE_MAX_BYTES,
  TOKEN_CACHE_MAX_ENTRY_BYTES,
);

/** What the verification cache holds (for tests and measurements). */
export function tokenCacheStats(): { entries: number; bytes: number } {
  return { entries: verified.count, bytes: verified.size };
}

function validSubject(context: TokenSubject): boolean {
  if (context.kind === "anonymous") return true;
  if (context.kind === "user") return typeof context.name === "string" && Number.isSafeInteger(context.id);
  return (
    context.kind === "build" &&
    context.name === "$build" &&
    typeof context.build === "string" &&
    Number.isSafeInteger(context.attempt) &&
    typeof context.lease === "string"
  );
}

function isAccessEntry(value: unknown): value is AccessEntry {
  const entry = value as AccessEntry;
  return (
    typeof entry === "object" &&
    entry !== null &&
    (entry.type === "repository" || entry.type === "registry") &&
    typeof entry.name === "string" &&
    Array.isArray(entry.actions) &&
    entry.actions.every((a) => typeof a === "string")
  );
}

/** Whether the claims grant `action` on `type:name` ("*" grants every action, as in distribution). */
export function claimsGrant(claims: RegistryClaims, type: AccessEntry["type"], name: string, action: string): boolean {
  return claims.access.some(
    (e) => e.type === type && e.name === name && (e.actions.includes(action) || e.actions.includes("*")),
  );
}
