/**
 * What workerd hands the Worker for a hostile Host header, seen from a raw socket (issue #12, item
 * 7e). workerd builds `request.url` as `http://` + the Host header + the path, so a quote, a comma
 * or a slash in Host reaches the Worker; the registry must answer 400 (RFC 9112 §3.2), never
 * reflect it into WWW-Authenticate, never let it move the path, never fail with a 500.
 */
import net from "node:net";
import { describe, expect, inject, it } from "vitest";

const base = new URL(inject("wharfUrl"));

interface RawAnswer {
  status: number;
  headers: [string, string][];
}

/** Sends `head` (request line and header lines, without the blank line) and reads the answer's head. */
function rawRequest(head: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname, () =>
      socket.write(`${head}\r\nConnection: close\r\n\r\n`, "latin1"),
    );
    let received = "";
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(head)}`)));
    socket.on("data", (data) => (received += data.toString("latin1")));
    socket.on("error", reject);
    socket.on("end", () => {
      const [statusLine, ...lines] = received.split("\r\n\r\n")[0]!.split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1]);
      resolve({
        status,
        headers: lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
      });
    });
  });
}

const header = (answer: RawAnswer, name: string) => answer.headers.filter(([n]) => n === name).map(([, v]) => v);

/** A challenge is `Bearer` and comma-separated known auth-params, each a quoted-string (RFC 7235). */
const WELL_FORMED =
  /^Bearer (?:realm|service|scope|error)="(?:[^"\\\r\n]|\\.)*"(?:,(?:realm|service|scope|error)="(?:[^"\\\r\n]|\\.)*")*$/;

describe("hostile Host headers against npm start", () => {
  it("a valid host gets the challenge naming it", async () => {
    const answer = await rawRequest(`GET /v2/ HTTP/1.1\r\nHost: ${base.host}`);
    expect(answer.status).toBe(401);
    expect(header(answer, "www-authenticate")).toEqual([
      `Bearer realm="http://${base.host}/v2/auth",service="${base.host}"`,
    ]);
  });

  const hostile = [
    'a",error="x',
    'a"b',
    "a,realm=x",
    "a b",
    "a:b:c",
    "host:99999",
    "a<script>",
    "a@b",
    "a?b",
    "a#b",
    "a\\b",
    "\x7fa",
    "%41",
    "ä.example",
  ];
  for (const host of hostile) {
    it(`Host: ${JSON.stringify(host)} is a 400 with no challenge`, async () => {
      const answer = await rawRequest(`GET /v2/ HTTP/1.1\r\nHost: ${host}`);
      expect(answer.status).toBe(400);
      for (const challenge of header(answer, "www-authenticate")) expect(challenge).toMatch(WELL_FORMED);
      expect(header(answer, "www-authenticate")).toEqual([]);
    });
  }

  it("a Host carrying a path cannot move the request to another route", async () => {
    // Before: `GET /v2/` with this Host answered the _catalog route's challenge.
    const catalog = await rawRequest("GET /v2/ HTTP/1.1\r\nHost: a/v2/_catalog?x=");
    expect(catalog.status).toBe(400);
    const discovery = await rawRequest("GET /v2/ HTTP/1.1\r\nHost: a/api/v1/discovery#");
    expect(discovery.status).toBe(400);
  });

  it("two Host headers, or an empty one, are refused without a 500", async () => {
    for (const head of [
      `GET /v2/ HTTP/1.1\r\nHost: ${base.host}\r\nHost: b`,
      "GET /v2/ HTTP/1.1\r\nHost: ",
      "GET /api/v1/discovery HTTP/1.1\r\nHost: a b",
    ]) {
      const answer = await rawRequest(head);
      expect(answer.status, head).toBeGreaterThanOrEqual(400);
      expect(answer.status, head).toBeLessThan(500);
    }
  });
});
