/**
 * Miniflare's `outboundService` for `npm start` (scripts/start.mjs) and the workerd test pool
 * (vitest.workers.config.mts): every fetch the Worker makes leaves through this function.
 *
 * Workers have no DNS API, so the Worker's guard (src/lib/outbound.ts) judges a host by how it is
 * written. Locally the same rule (src/lib/outbound-addresses.ts) also judges what a name resolves
 * to, at the moment of connecting: the lookup that hands the socket its address refuses an answer
 * that is not public (unless ALLOW_PRIVATE_OUTBOUND allows it), so a name cannot resolve to a
 * public address for a check and to a private one for the connection. A refusal is a 502 from
 * here (the Worker sees a failed upstream) and a line in the server's output.
 *
 * Node runs this file as it is (type stripping, Node >= 22.18): erasable TypeScript only.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import zlib from "node:zlib";
import { parseOutboundAllowance, resolvedRefusal, urlRefusal } from "../src/lib/outbound-addresses.ts";

/** Resolves a name to every address it has (node:dns by default; tests pass their own). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export interface OutboundServiceOptions {
  resolve?: Resolver;
  /** Where refusals are written (the server's output). */
  log?: (line: string) => void;
  /** Milliseconds a connection may stay silent before it is dropped. */
  idleTimeoutMs?: number;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and Host, which the connection sets itself. */
const NOT_FORWARDED = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "accept-encoding",
]);
/** Bodies arrive decoded, as fetch delivers them (Miniflare encodes again what it hands workerd). */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

class Refused extends Error {}

/**
 * The outbound service under `allow` (ALLOW_PRIVATE_OUTBOUND's text; throws if it is invalid, so
 * `npm start` stops with the reason).
 */
export function outboundService(
  allow: string,
  options: OutboundServiceOptions = {},
): (request: Request) => Promise<Response> {
  const allowance = parseOutboundAllowance(allow);
  const resolve: Resolver = options.resolve ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  const log = options.log ?? ((line: string) => console.warn(line));
  const refuse = (url: URL, reason: string) => {
    log(`wharf: outbound request to ${url.origin} refused: ${reason} (ALLOW_PRIVATE_OUTBOUND can allow it)`);
    return new Response(`outbound request refused: ${reason}\n`, { status: 502 });
  };

  return async function wharfOutbound(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const literal = urlRefusal(url, allowance);
    if (literal) return refuse(url, literal);
    // The one lookup the connection uses: every answer is judged before any is connected to.
    const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
      resolve(hostname).then(
        (answers) => {
          const refusal = answers.map((a) => resolvedRefusal(url, a.address, allowance)).find((r) => r !== null);
          if (refusal) return callback(new Refused(refusal), "", 4);
          if (answers.length === 0)
            return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
          if (lookupOptions.all)
            return (callback as unknown as (err: null, all: LookupAddress[]) => void)(null, answers);
          return callback(null, answers[0]!.address, answers[0]!.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, "", 4),
      );
    };
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    request.headers.forEach((value, name) => {
      if (!NOT_FORWARDED.has(name) && !name.startsWith("proxy-")) headers[name] = value;
    });
    try {
      return await forward(url, request, headers, lookup, options.idleTimeoutMs ?? 60_000);
    } catch (err) {
      if (err instanceof Refused) return refuse(url, err.message);
      return new Response(`outbound request failed: ${(err as Error).message}\n`, { status: 502 });
    }
  };
}

/** Sends the request with node:http(s) over `lookup`, and answers the upstream's response, streamed. */
function forward(
  url: URL,
  request: Request,
  headers: Record<string, string>,
  lookup: LookupFunction,
  idleTimeoutMs: number,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? https.request : http.request;
    // No shared agent: each request connects through its own checked lookup.
    const req = send(url, { method: request.method, headers, lookup, agent: false }, (res) => {
      const answer = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) answer.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const status = res.statusCode ?? 502;
      if (NULL_BODY_STATUSES.has(status) || request.method === "HEAD") {
        res.resume();
        return resolve(new Response(null, { status, statusText: res.statusMessage, headers: answer }));
      }
      const decoder = DECODERS[(res.headers["content-encoding"] ?? "").toLowerCase()];
      let body: Readable = res;
      if (decoder) {
        answer.delete("content-length");
        body = res.pipe(decoder()) as unknown as Readable;
        res.on("error", (err) => body.destroy(err));
      }
      resolve(
        new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, {
          status,
          statusText: res.statusMessage,
          headers: answer,
        }),
      );
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no answer within ${idleTimeoutMs} ms`)));
    req.on("error", reject);
    if (request.body)
      Readable.fromWeb(request.body as unknown as NodeReadableStream)
        .on("error", (err) => req.destroy(err))
        .pipe(req);
    else req.end();
  });
}
