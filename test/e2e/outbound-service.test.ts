/**
 * The outbound service `npm start` and the workerd test pool give Miniflare
 * (scripts/outbound-service.ts): what a name RESOLVES to is judged as the Worker's guard judges
 * literal hosts, at connect time, and an allowed request is forwarded as it was made (method,
 * headers, streamed body; redirects handed back, not followed). A loopback receiver stands in for
 * the remote; names resolve through a resolver the test controls. Issue #12, item 3.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboundService, type Resolver } from "../../scripts/outbound-service";

let receiver: Server;
let port: number;
const received: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }> = [];

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
    if (req.url === "/moved") return void res.writeHead(302, { Location: "http://169.254.169.254/" }).end();
    if (req.url === "/gzip")
      return void res
        .writeHead(200, { "Content-Encoding": "gzip", "Content-Type": "application/json" })
        .end(gzipSync('{"zipped":true}'));
    res.writeHead(201, { "Content-Type": "text/plain", "X-Receiver": "yes" }).end(`got ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(() => receiver?.close());

/** Resolves every name to `addresses`, counting lookups. */
function resolver(...addresses: string[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

describe("the outbound service", () => {
  it("refuses a name that resolves to a loopback or private address, before connecting", async () => {
    for (const answers of [["127.0.0.1"], ["93.184.216.34", "10.0.0.1"], ["::1"], ["::ffff:169.254.169.254"]]) {
      const logs: string[] = [];
      received.length = 0;
      const service = outboundService("", { resolve: resolver(...answers), log: (line) => logs.push(line) });
      const res = await service(new Request(`http://idp.example.test:${port}/.well-known/openid-configuration`));
      expect(res.status, answers.join()).toBe(502);
      expect(await res.text()).toMatch(/^outbound request refused: idp\.example\.test resolves to /);
      expect(logs.join("\n")).toMatch(/ALLOW_PRIVATE_OUTBOUND/);
      expect(received).toEqual([]);
    }
  });

  it("refuses a literal private host without resolving anything", async () => {
    const resolve = resolver("127.0.0.1");
    const service = outboundService("", { resolve, log: () => {} });
    for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`, `http://0x7f000001:${port}/`]) {
      expect((await service(new Request(url))).status, url).toBe(502);
    }
    expect(resolve.calls).toEqual([]);
    expect(received).toEqual([]);
  });

  it("forwards what ALLOW_PRIVATE_OUTBOUND allows, by host:port or by CIDR, as it was sent", async () => {
    for (const allow of [`idp.example.test:${port}`, `127.0.0.1:${port}`, "127.0.0.0/8", "true"]) {
      received.length = 0;
      const service = outboundService(allow, { resolve: resolver("127.0.0.1"), log: () => {} });
      const res = await service(
        new Request(`http://idp.example.test:${port}/hook?x=1`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Event": "push" },
          body: '{"a":1}',
        }),
      );
      expect(res.status, allow).toBe(201);
      expect(res.headers.get("X-Receiver")).toBe("yes");
      expect(await res.text()).toBe("got POST /hook?x=1");
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: "POST", url: "/hook?x=1", body: '{"a":1}' });
      expect(received[0]!.headers).toMatchObject({
        host: `idp.example.test:${port}`,
        "content-type": "application/json",
        "x-event": "push",
      });
    }
    // A literal loopback receiver that the allowance names.
    const literal = outboundService(`127.0.0.1:${port}`, { log: () => {} });
    expect(await (await literal(new Request(`http://127.0.0.1:${port}/direct`))).text()).toBe("got GET /direct");
  });

  it("hands redirects back instead of following them, and decodes compressed bodies", async () => {
    const service = outboundService(`127.0.0.1:${port}`, { log: () => {} });
    received.length = 0;
    const moved = await service(new Request(`http://127.0.0.1:${port}/moved`));
    expect(moved.status).toBe(302);
    expect(moved.headers.get("Location")).toBe("http://169.254.169.254/");
    expect(received.map((r) => r.url)).toEqual(["/moved"]);
    const zipped = await service(new Request(`http://127.0.0.1:${port}/gzip`));
    expect(await zipped.json()).toEqual({ zipped: true });
  });

  it("answers a failed connection as a failed upstream, and refuses an invalid allowance", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const free = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(free));
      });
    });
    const service = outboundService(`127.0.0.1:${closed}`, { log: () => {} });
    const res = await service(new Request(`http://127.0.0.1:${closed}/`));
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^outbound request failed: .*ECONNREFUSED/);
    expect(() => outboundService("localhost")).toThrow(/ALLOW_PRIVATE_OUTBOUND: "localhost"/);
  });
});
