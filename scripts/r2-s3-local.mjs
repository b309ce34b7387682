// A LOCAL stand-in for R2's S3 API, for `npm start` with BLOB_REDIRECT=true only: a second worker
// in the same workerd (scripts/start.mjs), bound to the same BLOBS bucket and state, that answers
// the presigned GET URLs the registry redirects blob GETs to (src/routes/v2/blob-redirect.ts), so
// clients can be seen following them. It is not deployed: in production the URLs point at R2's
// own S3 endpoint (https://<account>.r2.cloudflarestorage.com), which checks them itself.
//
// What it checks, as S3 does for query-string SigV4 ("Authenticating Requests: Using Query
// Parameters"): the algorithm, the credential's key id, day, region (`auto`) and service, the
// time (X-Amz-Date no later than now, now no later than X-Amz-Date + X-Amz-Expires, at most
// 7 days), the signed headers (host at least), and the signature, recomputed from the request as
// it arrives: method, path, query and Host. It is written apart from src/storage/presign.ts on
// purpose, so that the two meet only in the SigV4 rules. It serves GET and HEAD of one object,
// honouring a single Range; anything else is refused in S3's XML error shape.

/** Read in segments, as src/storage/r2-blob-store.ts does: the local R2 keeps memory flat that way. */
const SEGMENT = 16 * 1024 * 1024;
/** S3's limit on X-Amz-Expires: 7 days. */
const MAX_EXPIRES = 604_800;
const encoder = new TextEncoder();

export default {
  async fetch(request, env, ctx) {
    const res = await answer(request, env, ctx);
    // An access log line, as a local tool's: which object each presigned URL fetched.
    const { pathname } = new URL(request.url);
    console.log(`r2-s3-local: ${request.method} ${pathname} ${res.status}`);
    return res;
  },
};

async function answer(request, env, ctx) {
  const url = new URL(request.url);
  const verdict = await verifyPresigned(request.method, url, request.headers, {
    accessKeyId: env.R2_ACCESS_KEY_ID,
    secretAccessKey: env.R2_SECRET_ACCESS_KEY,
    nowMs: Date.now(),
  });
  if (!verdict.ok) return s3Error(403, verdict.code, verdict.message);
  const [bucket, ...segments] = url.pathname.slice(1).split("/");
  if (bucket !== env.R2_BUCKET_NAME || segments.length === 0)
    return s3Error(404, "NoSuchBucket", "The specified bucket does not exist.");
  const key = segments.map(decodeURIComponent).join("/");
  const head = await env.BLOBS.head(key);
  if (!head) return s3Error(404, "NoSuchKey", "The specified key does not exist.");
  const size = head.size;
  const range = byteRange(request.headers.get("Range"), size);
  if (range === "unsatisfiable") return s3Error(416, "InvalidRange", "The requested range is not satisfiable");
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const length = end - start + 1;
  const headers = {
    "Accept-Ranges": "bytes",
    "Content-Type": head.httpMetadata?.contentType ?? "application/octet-stream",
    ETag: head.httpEtag,
    "Last-Modified": head.uploaded.toUTCString(),
    ...(range ? { "Content-Range": `bytes ${start}-${end}/${size}` } : {}),
  };
  const status = range ? 206 : 200;
  if (request.method === "HEAD" || length === 0)
    return new Response(null, { status, headers: { ...headers, "Content-Length": String(length) } });
  const { readable, writable } = new FixedLengthStream(length);
  ctx.waitUntil(copySegments(env.BLOBS, key, start, end, writable));
  return new Response(readable, { status, headers });
}

/** Streams bytes `start`..`end` of `key` into `writable`, one ranged get per segment. */
async function copySegments(bucket, key, start, end, writable) {
  try {
    for (let offset = start; offset <= end; offset += SEGMENT) {
      const length = Math.min(SEGMENT, end - offset + 1);
      const part = await bucket.get(key, { range: { offset, length } });
      if (!part) throw new Error(`${key} vanished while being read`);
      await part.body.pipeTo(writable, { preventClose: true });
    }
    await writable.close();
  } catch (err) {
    await writable.abort(err).catch(() => {});
  }
}

/** RFC 9110's single byte range over `size` bytes; undefined for none (or several: S3 serves all). */
function byteRange(header, size) {
  const match = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === "" && last === "") return "unsatisfiable";
  if (first === "") {
    const suffix = Number(last);
    return suffix === 0 || size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return start >= size || end < start ? "unsatisfiable" : { start, end };
}

/**
 * Whether `method` on `url` with `headers` carries a valid presigned signature of `accessKeyId`:
 * `{ ok: true }`, or `{ ok: false, code, message }` with S3's error code.
 */
export async function verifyPresigned(method, url, headers, { accessKeyId, secretAccessKey, nowMs }) {
  const refuse = (code, message) => ({ ok: false, code, message });
  if (method !== "GET" && method !== "HEAD") return refuse("AccessDenied", "Only GET and HEAD are served here.");
  if (headers.get("Authorization"))
    return refuse("AccessDenied", "Only one auth mechanism allowed: the query string or the Authorization header.");
  const query = url.searchParams;
  const wanted = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"];
  if (!wanted.every((name) => query.has(name)) || !query.has("X-Amz-Signature"))
    return refuse("AccessDenied", "Query-string authentication requires the X-Amz-* parameters.");
  if (query.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256")
    return refuse("AccessDenied", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256.");
  const [keyId, day, region, service, terminal, ...rest] = query.get("X-Amz-Credential").split("/");
  if (keyId !== accessKeyId) return refuse("InvalidAccessKeyId", "The access key id does not exist in our records.");
  const timestamp = query.get("X-Amz-Date");
  const issued = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(timestamp);
  if (!issued || day !== timestamp.slice(0, 8) || region !== "auto" || service !== "s3")
    return refuse("AccessDenied", "X-Amz-Credential or X-Amz-Date is malformed.");
  if (terminal !== "aws4_request" || rest.length > 0)
    return refuse("AccessDenied", "X-Amz-Credential must end in aws4_request.");
  const expires = query.get("X-Amz-Expires");
  if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_EXPIRES)
    return refuse("AccessDenied", "X-Amz-Expires must be between 1 and 604800 seconds.");
  const issuedMs = Date.UTC(issued[1], issued[2] - 1, issued[3], issued[4], issued[5], issued[6]);
  if (nowMs < issuedMs) return refuse("AccessDenied", "Request is not valid yet.");
  if (nowMs > issuedMs + Number(expires) * 1000) return refuse("AccessDenied", "Request has expired.");
  const signed = query.get("X-Amz-SignedHeaders").split(";");
  if (!signed.includes("host") || signed.some((name, i) => i > 0 && signed[i - 1] >= name))
    return refuse("AccessDenied", "X-Amz-SignedHeaders must list host, sorted.");
  // The canonical request from what arrived: the path as sent, every other parameter re-encoded
  // and sorted, each signed header's value as the client sent it (Host with its port).
  const params = [...query].filter(([name]) => name !== "X-Amz-Signature");
  const canonicalQuery = params
    .map(([name, value]) => [encode(name), encode(value)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const headerLines = signed.map((name) => {
    const value = name === "host" ? url.host : (headers.get(name) ?? "");
    return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  });
  const canonical = [method, url.pathname, canonicalQuery, headerLines.join(""), signed.join(";"), "UNSIGNED-PAYLOAD"];
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", timestamp, scope, await sha256Hex(canonical.join("\n"))].join("\n");
  let key = encoder.encode(`AWS4${secretAccessKey}`);
  for (const part of [day, region, service, "aws4_request"]) key = await hmac(key, part);
  const expected = hexOf(await hmac(key, toSign));
  if (!sameText(expected, query.get("X-Amz-Signature")))
    return refuse(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided.",
    );
  return { ok: true };
}

const encode = (text) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hexOf = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(key, message) {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(message)));
}

async function sha256Hex(text) {
  return hexOf(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Compares in time independent of where two equal-length texts differ. */
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** S3's error answer: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function s3Error(status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>\n`;
  return new Response(body, { status, headers: { "Content-Type": "application/xml" } });
}
