/**
 * Pushes blobs in chunks (distribution-spec "Pushing a blob in chunks"): POST opens the upload,
 * PATCHes of at most the chunk size carry Content-Range and Content-Length, PUT `?digest=`
 * closes it. No request body is ever larger than one chunk, which is the point: Cloudflare refuses
 * bodies over the plan's cap (100 MB on Free and Pro). A chunk that fails (connection lost, 5xx,
 * 416) is resumed from the offset the registry reports (GET on the upload's Location).
 */
import { createReadStream } from "node:fs";
import { describe, header, type Answer } from "./http.ts";
import type { Session } from "./session.ts";
import type { BlobRef, ManifestNode } from "./sources.ts";

/** The largest chunk sent whatever the registry advertises: under the smallest plan's 100 MB cap. */
export const CHUNK_CAP = 95_000_000;

export interface UploadOptions {
  /** --chunk-size; otherwise the registry's OCI-Chunk-Max-Length, at most {@link CHUNK_CAP}. */
  chunkSize?: number;
  /** Failed chunks retried in a row before giving up. */
  retries: number;
  log: (line: string) => void;
}

export class PushError extends Error {}

const RETRYABLE = new Set([408, 416, 429, 500, 502, 503, 504]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The offset an upload holds from its `Range: 0-<last>` (none, or `0-0` on an empty upload: 0). */
function offsetOf(answer: Answer): number {
  const match = /^0-(\d+)$/.exec(header(answer, "Range") ?? "");
  const last = match ? Number(match[1]) : -1;
  return last <= 0 ? 0 : last + 1;
}

export async function pushBlob(session: Session, blob: BlobRef, options: UploadOptions): Promise<void> {
  const { repository } = session.target;
  const label = `${blob.digest.slice(0, 19)}… (${blob.size} bytes)`;
  const known = await session.send("HEAD", session.url(`/v2/${repository}/blobs/${blob.digest}`));
  if (known.status === 200) {
    options.log(`${label}: already there`);
    return;
  }
  const opened = await session.send(
    "POST",
    session.url(`/v2/${repository}/blobs/uploads/`),
    { "Content-Length": "0" },
    Buffer.alloc(0),
  );
  if (opened.status !== 202) throw new PushError(`opening an upload for ${blob.digest}: ${describe(opened)}`);
  let location = session.url(header(opened, "Location") ?? "");
  const advertised = Number(header(opened, "OCI-Chunk-Max-Length"));
  const chunk = options.chunkSize ?? Math.min(advertised > 0 ? advertised : CHUNK_CAP, CHUNK_CAP);
  let offset = 0;
  let failures = 0;
  let requests = 0;
  while (offset < blob.size) {
    const end = Math.min(blob.size, offset + chunk);
    const from = blob.file;
    const start = blob.offset + offset;
    const stop = blob.offset + end - 1;
    let answer: Answer | null = null;
    let failure: string;
    try {
      requests++;
      answer = await session.send(
        "PATCH",
        location,
        {
          "Content-Type": "application/octet-stream",
          "Content-Length": String(end - offset),
          "Content-Range": `${offset}-${end - 1}`,
        },
        () => createReadStream(from, { start, end: stop, highWaterMark: 1 << 20 }),
      );
      if (answer.status === 202) {
        location = session.url(header(answer, "Location") ?? location.toString());
        offset = end;
        failures = 0;
        continue;
      }
      failure = describe(answer);
    } catch (err) {
      failure = (err as Error).message;
    }
    if (answer && !RETRYABLE.has(answer.status))
      throw new PushError(`chunk ${offset}-${end - 1} of ${blob.digest}: ${failure}`);
    if (++failures > options.retries)
      throw new PushError(`chunk ${offset}-${end - 1} of ${blob.digest} failed ${failures} times: ${failure}`);
    options.log(`${label}: chunk ${offset}-${end - 1} failed (${failure}); resuming from the registry's offset`);
    await sleep(Math.min(8000, 250 * 2 ** failures));
    const status = await session.send("GET", location).catch(() => null);
    if (status?.status === 204) {
      offset = offsetOf(status);
      location = session.url(header(status, "Location") ?? location.toString());
    }
  }
  const close = new URL(location);
  close.searchParams.set("digest", blob.digest);
  const closed = await session.send("PUT", close, { "Content-Length": "0" }, Buffer.alloc(0));
  if (closed.status !== 201) throw new PushError(`closing the upload of ${blob.digest}: ${describe(closed)}`);
  options.log(`${label}: pushed in ${requests} request(s) of at most ${chunk} bytes`);
}

/** Pushes a manifest tree: every blob and child first, the root last (by `reference`). */
export async function pushManifest(
  session: Session,
  node: ManifestNode,
  reference: string,
  options: UploadOptions,
): Promise<void> {
  for (const child of node.children) await pushManifest(session, child, child.digest, options);
  for (const blob of node.blobs) await pushBlob(session, blob, options);
  const url = session.url(`/v2/${session.target.repository}/manifests/${reference}`);
  const answer = await session.send(
    "PUT",
    url,
    { "Content-Type": node.mediaType, "Content-Length": String(node.bytes.length) },
    node.bytes,
  );
  if (answer.status !== 201) throw new PushError(`putting manifest ${reference}: ${describe(answer)}`);
}
