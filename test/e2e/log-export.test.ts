/**
 * Log export and the log sink against `npm start` (issue #15): an export asked with a callback URL
 * on loopback (this registry's ALLOW_PRIVATE_OUTBOUND names the receiver) is built by the EVENTS
 * queue, the receiver gets Quay's JSON with Wharf's signed link, and the link gives Quay's file;
 * with ACTION_LOG_SINK_URL the same receiver gets the entries as Splunk HEC JSON with the token.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { seedCommands } from "./helpers/seed-commands";
import { type RunningServer, startWharf } from "./helpers/server";

const RECEIVER_HOST = "127.0.0.2";

interface Hit {
  path: string;
  authorization: string | undefined;
  text: string;
}

let receiver: Server;
let port: number;
const hits: Hit[] = [];
let server: RunningServer;
let token: string;

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    hits.push({ path: req.url!, authorization: req.headers.authorization, text: Buffer.concat(chunks).toString() });
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => receiver.listen(0, RECEIVER_HOST, resolve));
  port = (receiver.address() as AddressInfo).port;
  server = await startWharf({
    env: {
      ALLOW_PRIVATE_OUTBOUND: `${RECEIVER_HOST}:${port}`,
      ACTION_LOG_SINK_URL: `http://${RECEIVER_HOST}:${port}/services/collector/event`,
      ACTION_LOG_SINK_TOKEN: "e2e-hec-token",
    },
  });
  const owner = await server.credentialsFor("exporter");
  token = await seedCommands(server.url, () => "").mintToken(owner.username, owner.password, [
    "repo:admin",
    "repo:write",
    "repo:read",
    "repo:create",
    "user:admin",
  ]);
}, 180_000);

afterAll(async () => {
  receiver?.close();
  receiver?.closeAllConnections();
  await server?.stop();
});

async function hitWith(predicate: (hit: Hit) => boolean, timeoutMs = 60_000): Promise<Hit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = hits.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`nothing matching; received: ${JSON.stringify(hits).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("log export and the log sink", () => {
  it("delivers the export's link to the callback, serves the file, and forwards entries to the sink", async () => {
    const call = (method: string, pathname: string, body?: unknown) =>
      apiCall(server.url, token, method, pathname, body);
    await call("POST", "/repository", {
      namespace: "exporter",
      repository: "exported",
      visibility: "private",
      description: "",
    });
    // The entry is written by the consumer; the export reads what is written.
    const sunk = await hitWith((hit) => hit.path === "/services/collector/event" && hit.text.includes('"create_repo"'));
    expect(sunk.authorization).toBe("Splunk e2e-hec-token");
    const event = sunk.text
      .split("\n")
      .map((line) => JSON.parse(line))
      .find((e) => e.event.kind === "create_repo");
    expect(event).toMatchObject({
      sourcetype: "access_combined",
      event: { kind: "create_repo", account: "exporter", repository: "exported" },
    });

    const { export_id } = await call("POST", "/repository/exporter/exported/exportlogs", {
      callback_url: `http://${RECEIVER_HOST}:${port}/exported`,
    });
    const delivered = await hitWith((hit) => hit.path === "/exported");
    const callback = JSON.parse(delivered.text);
    expect(callback).toMatchObject({ export_id, namespace: "exporter", repository: "exported", status: "success" });
    const file = await fetch(callback.exported_data_url.replace(/^https?:\/\/[^/]+/, server.url));
    expect(file.status).toBe(200);
    const exported = (await file.json()) as any;
    expect(exported.export_id).toBe(export_id);
    expect(exported.logs.map((e: any) => e.kind)).toContain("create_repo");
    expect(exported.logs.at(-1)).toEqual({ terminator: true });
  }, 120_000);
});
