/**
 * One HTTP exchange of the pusher, on node:http(s) so that a chunk streams from disk with the
 * exact Content-Length it declares. Answers are small (errors, tokens, statuses) and read whole.
 */
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Body = Buffer | (() => Readable);

const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

export function exchange(method: string, url: URL, headers: Record<string, string>, body?: Body): Promise<Answer> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method, headers, agent: agents[url.protocol as "http:" | "https:"] },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      const stream = body();
      stream.on("error", (err) => req.destroy(err));
      stream.pipe(req);
    }
  });
}

/** The OCI error an answer carries, as one line: `413 SIZE_INVALID: request body exceeds …`. */
export function describe(answer: Answer): string {
  try {
    const { errors } = JSON.parse(answer.body.toString("utf8")) as { errors?: { code: string; message: string }[] };
    if (errors?.length) return `${answer.status} ${errors.map((e) => `${e.code}: ${e.message}`).join("; ")}`;
  } catch {
    // not an OCI error body
  }
  return `${answer.status} ${answer.body.toString("utf8").slice(0, 200)}`.trim();
}

/** One header's value (node gives arrays for repeated ones). */
export function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
