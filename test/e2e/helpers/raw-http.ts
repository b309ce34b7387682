/**
 * Requests with bodies, sent the way Go's net/http and other registry clients send them: headers,
 * then the body written as fast as the socket takes it, the answer read whenever it comes. Errors
 * while the body is still being written (EPIPE, ECONNRESET: the server closed before reading it)
 * are recorded apart from the HTTP answer, which is what a client that stops at a write error
 * never sees. And short bodies over a raw socket: a Content-Length the client does not honour.
 */
import http from "node:http";
import net from "node:net";

export interface Exchange {
  status: number | null;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** An error raised while the request body was still being sent, before the answer ended. */
  writeError: string | null;
  /** An error raised after the answer began (a reset that can cut the answer short). */
  responseError: string | null;
}

/** Sends `body` with its Content-Length in 256 KiB writes; resolves once the exchange is over. */
export function sendBody(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array,
  agent?: http.Agent,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const exchange: Exchange = { status: null, headers: {}, body: "", writeError: null, responseError: null };
    const req = http.request(url, {
      method,
      agent: agent ?? false,
      headers: { ...headers, "Content-Length": String(body.byteLength) },
    });
    req.on("response", (res) => {
      exchange.status = res.statusCode ?? null;
      exchange.headers = res.headers;
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => (exchange.body = Buffer.concat(chunks).toString()));
      res.on("error", (err: NodeJS.ErrnoException) => (exchange.responseError ??= err.code ?? err.message));
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      if (exchange.status === null) exchange.writeError ??= code;
      else exchange.responseError ??= code;
    });
    // Let late socket errors (a reset after the answer) land before reporting.
    req.on("close", () => setTimeout(() => resolve(exchange), 100));
    let at = 0;
    const write = () => {
      while (at < body.byteLength) {
        const piece = body.subarray(at, at + 256 * 1024);
        at += piece.byteLength;
        if (!req.write(piece)) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

/**
 * Sends a request that declares `declared` body bytes but sends only `sent`, then either
 * half-closes the socket and waits for an answer (`"half-close"`, a client that stopped sending
 * but still listens) or destroys it (`"destroy"`, a client that went away). Resolves with the
 * status line received, if any.
 */
export function sendShort(
  url: string,
  method: string,
  headers: Record<string, string>,
  declared: number,
  sent: Uint8Array,
  how: "half-close" | "destroy",
): Promise<{ statusLine: string | null; body: string }> {
  const target = new URL(url);
  return new Promise((resolve) => {
    let received = "";
    const socket = net.connect(Number(target.port), target.hostname, () => {
      const lines = [
        `${method} ${target.pathname}${target.search} HTTP/1.1`,
        `Host: ${target.host}`,
        `Content-Length: ${declared}`,
      ];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      socket.write(sent, () => {
        // The bytes are handed to the kernel; give the server a moment to read them, then stop.
        setTimeout(() => (how === "half-close" ? socket.end() : socket.destroy()), 300);
      });
    });
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.on("error", () => undefined);
    const finish = () => {
      const [head = "", body = ""] = received.split("\r\n\r\n");
      resolve({ statusLine: received ? head.split("\r\n")[0]! : null, body });
    };
    socket.on("close", finish);
    // A destroyed socket closes at once; a half-closed one when the server answers and closes.
    setTimeout(() => socket.destroy(), 15_000);
  });
}
