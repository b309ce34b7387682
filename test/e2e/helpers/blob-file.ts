/** Large pseudo-random blobs on disk, with their digest, and streaming HTTP helpers for them. */
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import http from "node:http";

export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const file = await open(path, "w");
  const block = Buffer.alloc(4 * 1024 * 1024);
  try {
    for (let written = 0; written < size; written += block.length) {
      const chunk = block.subarray(0, Math.min(block.length, size - written));
      randomFillSync(chunk);
      hash.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return `sha256:${hash.digest("hex")}`;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `[start, end]` (inclusive) of a file as the request body, with its Content-Length. */
export function sendFileRange(
  method: string,
  url: string,
  path: string,
  range: { start: number; end: number } | null,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const length = range ? range.end - range.start + 1 : 0;
    const req = http.request(url, { method, headers: { ...headers, "Content-Length": String(length) } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    if (!range) return void req.end();
    createReadStream(path, { start: range.start, end: range.end, highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

/** GETs a URL and returns the SHA-256 and length of the body, streaming. */
export function hashDownload(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; digest: string; size: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const hash = createHash("sha256");
        let size = 0;
        res.on("data", (d: Buffer) => {
          hash.update(d);
          size += d.length;
        });
        res.on("end", () => resolve({ status: res.statusCode!, digest: `sha256:${hash.digest("hex")}`, size }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}
