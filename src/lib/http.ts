/** Small HTTP helpers shared by the routes. */
import { readOrEnded } from "./request-body";

/**
 * A `Link` header for the next page, as RFC 8288 and distribution-spec "Listing Tags" require:
 * `<url>; rel="next"`. The URL is relative to the registry, as distribution answers.
 */
export function nextLink(path: string, params: Record<string, string | number>): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  return `<${path}?${query.toString()}>; rel="next"`;
}

/** A byte range, inclusive of `end`, as in Content-Range and Range (RFC 9110 §14). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range: bytes=…` request header against a representation of `size` bytes.
 * Returns undefined when the header is absent or names another unit (RFC 9110 §14.2: ignore it),
 * "unsatisfiable" when no valid range fits (→ 416), and the range otherwise. Several ranges are
 * answered as the whole representation, which RFC 9110 allows.
 */
export function parseRangeHeader(
  header: string | null | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return undefined;
  const specs = match[1]!.split(",").map((s) => s.trim());
  if (specs.length !== 1) return specs.every((s) => /^(\d+-\d*|-\d+)$/.test(s)) ? undefined : "unsatisfiable";
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === "" && spec[2] === "")) return "unsatisfiable";
  if (spec[1] === "") {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === "" ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/**
 * Parses the `Content-Range` of an upload chunk. distribution-spec "Pushing a blob in chunks"
 * defines it as `<start>-<end>` (inclusive, `^[0-9]+-[0-9]+$`); the RFC form `bytes a-b/*` that
 * some clients send is accepted too. Returns null when the header is malformed.
 */
export function parseContentRange(header: string): ByteRange | null {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}

/** Parses a Content-Length header; null when absent, NaN when malformed. */
export function contentLength(header: string | null | undefined): number | null {
  if (header === null || header === undefined) return null;
  return /^\d+$/.test(header.trim()) ? Number(header.trim()) : Number.NaN;
}

/**
 * The `Range` header of an upload holding `offset` bytes: `0-<last byte>`, and `0-0` for an
 * empty upload, as distribution answers and Docker clients expect.
 */
export function uploadRange(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

/**
 * The whole body of a request (or of an outbound answer) that must fit in memory (a manifest, a
 * JSON document), read as it streams and abandoned at `limit` bytes: `tooLarge()` is thrown as
 * soon as the declared Content-Length or the bytes read pass the limit, so an oversized body is
 * never buffered (what is left stays unread, not cancelled, for the /v2 surface to drain before it
 * answers). A body that ends before its Content-Length throws BodyEndedEarlyError
 * (./request-body.ts).
 */
export async function readBounded(
  request: Request | Response,
  limit: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const declared = contentLength(request.headers.get("Content-Length"));
  if (declared !== null && declared > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await readOrEnded(reader.read());
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * `value` as an RFC 9110 §5.6.4 quoted-string, the form of auth-param values in a challenge
 * (RFC 7235 §2.1): `"` and `\` escaped with a backslash; anything but printable ASCII, space
 * and tab dropped (controls cannot be quoted at all, CR LF would end the header), so no value can
 * end its parameter or the header.
 */
export function quotedString(value: string): string {
  return `"${value.replace(/[^\t\x20-\x7e]/g, "").replace(/["\\]/g, "\\$&")}"`;
}
