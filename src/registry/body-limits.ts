/**
 * How large one upload request may be. Cloudflare caps request bodies by plan (100 MB Free and
 * Pro, 200 MB Business, 500 MB Enterprise) and answers a larger one with its own 413 before the
 * Worker runs, while docker and podman send a whole layer in one PATCH. Registries tell chunking
 * clients the most a chunk may hold with `OCI-Chunk-Max-Length` (proposed in the distribution-spec
 * issue "Pushing blob chunks could have a max chunk size hint"), beside the spec's
 * `OCI-Chunk-Min-Length`; MAX_REQUEST_BODY makes Wharf refuse an oversize body itself, in OCI's
 * words and naming the limit, so the client learns what to do and its upload stays as it was.
 */
import { DomainError } from "../errors/domain";
import { PART_SIZE } from "./upload-ingest";

/** The smallest plan's cap (Free and Pro), in bytes as Cloudflare states it: 100 MB. */
export const SMALLEST_PLAN_BODY_CAP = 100_000_000;

/**
 * What uploads advertise as `OCI-Chunk-Max-Length` without a MAX_REQUEST_BODY: a hint below the
 * smallest plan's cap with room to spare (88 MiB, 92,274,688 bytes, 7.7% under it). A whole number
 * of 8 MiB parts, so that a chunk of this size ends on a part boundary and the upload's Durable
 * Object keeps no tail bytes between requests (src/registry/upload-ingest.ts).
 */
export const DEFAULT_CHUNK_MAX_LENGTH = 11 * PART_SIZE;

/** The `OCI-Chunk-Max-Length` for a configured MAX_REQUEST_BODY (0: none). */
export function chunkMaxLength(maxRequestBody: number): number {
  return maxRequestBody > 0 ? maxRequestBody : DEFAULT_CHUNK_MAX_LENGTH;
}

/**
 * The chunk-size headers of an upload answer (POST and PATCH 202). The minimum is Wharf's part
 * size, where chunks cost least, but never above the maximum: a client must be able to obey both.
 */
export function chunkLengthHeaders(maxRequestBody: number): Record<string, string> {
  const max = chunkMaxLength(maxRequestBody);
  return { "OCI-Chunk-Min-Length": String(Math.min(PART_SIZE, max)), "OCI-Chunk-Max-Length": String(max) };
}

/** The refusal of a body over MAX_REQUEST_BODY: 413 SIZE_INVALID on /v2, naming the limit. */
export function bodyTooLarge(maxRequestBody: number): DomainError {
  return new DomainError("too_large", {
    subject: "size",
    message:
      `request body exceeds MAX_REQUEST_BODY (${maxRequestBody} bytes): send the layer in chunks ` +
      `of at most ${maxRequestBody} bytes (see OCI-Chunk-Max-Length)`,
    detail: { limit: maxRequestBody },
    headers: chunkLengthHeaders(maxRequestBody),
  });
}

/** Refuses a body declared (Content-Length, or a Content-Range's span) larger than the limit, before reading it. */
export function refuseDeclaredOversize(maxRequestBody: number, declared: number | null): void {
  if (maxRequestBody > 0 && declared !== null && declared > maxRequestBody) throw bodyTooLarge(maxRequestBody);
}
