/**
 * Presigned GET URLs for R2's S3 API: AWS Signature Version 4 in the query string ("Authenticating
 * Requests: Using Query Parameters", the S3 API reference), which R2 accepts with region `auto`.
 * Whoever holds such a URL may GET that one object, with no other credential, until it expires:
 * the blob redirect (src/routes/v2/blob-redirect.ts) hands one to a client whose token it checked.
 *
 * Only `host` is signed and the payload is UNSIGNED-PAYLOAD, as every S3 SDK presigns a GET: a
 * client following a redirect sends what it likes besides (a Range), and nothing it sends can
 * make the URL name another object, another method or a later expiry. WebCrypto's HMAC-SHA256 and
 * SHA-256 do the work: no library (jose has no SigV4), nothing buffered but a few hundred bytes.
 */

/** An S3 key pair: an R2 API token's access key id and secret access key. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PresignRequest {
  /** The S3 endpoint's origin, `https://<account>.r2.cloudflarestorage.com` (a trailing `/` is ignored). */
  endpoint: string;
  /** The path's segments, unencoded: `[bucket, ...key.split("/")]` path-style ({@link objectPath}). */
  path: readonly string[];
  /** The signing region: `auto` for R2. */
  region: string;
  credentials: S3Credentials;
  /** Seconds the URL may be used from `nowMs` (X-Amz-Expires; S3 allows 1 to 604,800). */
  expiresSeconds: number;
  /** The signing time, milliseconds since the epoch (clock.now()). */
  nowMs: number;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const SERVICE = "s3";
const encoder = new TextEncoder();

/**
 * SigV4's UriEncode: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case
 * hex). encodeURIComponent leaves `!'()*` alone, which S3 would canonicalize encoded.
 */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path-style segments of `key` in `bucket` (R2's endpoint has no per-bucket host of its own). */
export function objectPath(bucket: string, key: string): string[] {
  return [bucket, ...key.split("/")];
}

/** `YYYYMMDDTHHMMSSZ`, SigV4's timestamp. */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

const hex = (bytes: ArrayBuffer): string =>
  [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** WebCrypto's key type, named so that Node's types (the end-to-end tests import this) agree. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const hmacKey = (raw: ArrayBuffer | Uint8Array): Promise<HmacKey> =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

async function hmac(key: ArrayBuffer | Uint8Array, message: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", await hmacKey(key), encoder.encode(message));
}

/**
 * The isolate's last signing key: it depends only on the secret, the day and the region, so one
 * derivation a day serves every URL (measured in Node on this shared 2-core machine: 144-218 µs
 * of CPU a URL deriving it each time, 49-87 µs keeping it).
 */
let lastKey: { secret: string; day: string; region: string; key: Promise<HmacKey> } | undefined;

/** The signing key of a day, region and service (SigV4's chain of four HMACs). */
function signingKey(secret: string, day: string, region: string): Promise<HmacKey> {
  if (lastKey?.secret === secret && lastKey.day === day && lastKey.region === region) return lastKey.key;
  const key = (async () => {
    const dated = await hmac(encoder.encode(`AWS4${secret}`), day);
    const regional = await hmac(dated, region);
    const serviced = await hmac(regional, SERVICE);
    return hmacKey(await hmac(serviced, "aws4_request"));
  })();
  // A failed derivation is not kept.
  key.catch(() => {
    if (lastKey?.key === key) lastKey = undefined;
  });
  lastKey = { secret, day, region, key };
  return key;
}

/** The pieces of a presigned GET before its signature: what {@link presignGet} signs, for tests. */
export async function canonicalGet(request: PresignRequest): Promise<{
  /** The URL without its signature. */
  unsigned: string;
  canonicalRequest: string;
  stringToSign: string;
}> {
  const url = new URL(request.endpoint.replace(/\/$/, ""));
  const timestamp = amzDate(request.nowMs);
  const scope = `${timestamp.slice(0, 8)}/${request.region}/${SERVICE}/aws4_request`;
  const params: [string, string][] = [
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${request.credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", timestamp],
    ["X-Amz-Expires", String(request.expiresSeconds)],
    ["X-Amz-SignedHeaders", "host"],
  ];
  // Sorted by name (these already are), each name and value UriEncoded: `/` in the credential too.
  const query = params.map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`).join("&");
  const path = `/${request.path.map(uriEncode).join("/")}`;
  // `host` as the client will send it: with the port when it is not the scheme's default.
  const canonicalRequest = ["GET", path, query, `host:${url.host}`, "", "host", "UNSIGNED-PAYLOAD"].join("\n");
  const hashed = hex(await crypto.subtle.digest("SHA-256", encoder.encode(canonicalRequest)));
  const stringToSign = [ALGORITHM, timestamp, scope, hashed].join("\n");
  // Joined as text: a URL object would resolve `.` segments and re-encode what is encoded.
  return { unsigned: `${url.origin}${path}?${query}`, canonicalRequest, stringToSign };
}

/** A URL that lets its holder GET the object at `request.path` until `expiresSeconds` have passed. */
export async function presignGet(request: PresignRequest): Promise<string> {
  const { unsigned, stringToSign } = await canonicalGet(request);
  const day = amzDate(request.nowMs).slice(0, 8);
  const key = await signingKey(request.credentials.secretAccessKey, day, request.region);
  const signature = hex(await crypto.subtle.sign("HMAC", key, encoder.encode(stringToSign)));
  return `${unsigned}&X-Amz-Signature=${signature}`;
}
