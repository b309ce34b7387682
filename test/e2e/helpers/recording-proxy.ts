/**
 * A tiny HTTP proxy in front of the registry that records every request (method, path, declared
 * Content-Length, the body bytes that went through) so a test can assert that no request body
 * exceeded a limit, and that can cut one chosen request's body short to stand for a lost
 * connection. The Host header goes through unchanged, so the registry names the proxy in its
 * token realm and Locations, and every exchange of a client passes here.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  declared: number | null;
  bytes: number;
  status: number | null;
}

export interface RecordingProxy {
  url: string;
  host: string;
  requests: Recorded[];
  /** Cuts the `nth` (1-based, counted from now) PATCH after `afterBytes` of its body. */
  cutPatch(nth: number, afterBytes: number): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: Recorded[] = [];
  let cut: { countdown: number; afterBytes: number } | null = null;
  const server = http.createServer((req, res) => {
    const declared = req.headers["content-length"];
    const record: Recorded = {
      method: req.method ?? "",
      path: req.url ?? "",
      declared: declared === undefined ? null : Number(declared),
      bytes: 0,
      status: null,
    };
    requests.push(record);
    let cutAfter: number | null = null;
    if (cut && req.method === "PATCH" && --cut.countdown === 0) {
      cutAfter = cut.afterBytes;
      cut = null;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        record.status = answer.statusCode ?? null;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.on("data", (chunk: Buffer) => {
      record.bytes += chunk.byteLength;
      if (cutAfter !== null && record.bytes > cutAfter) {
        // The connection is lost mid-body: both sides see it end early.
        req.socket.destroy();
        forward.destroy();
        return;
      }
      forward.write(chunk);
    });
    req.on("end", () => forward.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    cutPatch(nth, afterBytes) {
      cut = { countdown: nth, afterBytes };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
