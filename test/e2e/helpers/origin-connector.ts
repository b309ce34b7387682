/**
 * Issue #18's acceptance against a real `npm start` and the real connector (`npm run connector`):
 * a loopback webhook receiver for repository notifications (on 127.0.0.2, the address Wharf lets a
 * test's ALLOW_PRIVATE_OUTBOUND name), a connector created by the superuser API and started against
 * the test's registry, and polls with deadlines on the build API.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { apiCall } from "./api-calls";
import { ConnectorProcess } from "./connector-process";

export const RECEIVER_HOST = "127.0.0.2";

export interface Delivery {
  path: string;
  body: any;
  at: number;
}

/** A webhook receiver: every POST it got, by path; and files it serves to GETs (a build's archive). */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Served files by path, and how often each was fetched. */
  readonly files = new Map<string, { bytes: Buffer; fetched: number }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let self: WebhookReceiver | undefined;
    const server = createServer(async (req, res) => {
      if (req.method === "GET") {
        const file = self!.files.get(req.url ?? "");
        if (!file) return void res.writeHead(404).end();
        file.fetched += 1;
        return void res.writeHead(200, { "Content-Length": file.bytes.length }).end(file.bytes);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text || "null");
      } catch {
        // kept as text
      }
      self!.deliveries.push({ path: req.url ?? "/", body, at: Date.now() });
      res.writeHead(200).end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, RECEIVER_HOST, resolve));
    self = new WebhookReceiver(server, (server.address() as AddressInfo).port);
    return self;
  }

  /** What the registry's ALLOW_PRIVATE_OUTBOUND must name for it to deliver here. */
  get hostPort(): string {
    return `${RECEIVER_HOST}:${this.port}`;
  }

  /** Serves `bytes` at `path`; its URL. */
  serve(path: string, bytes: Buffer): string {
    this.files.set(path, { bytes, fetched: 0 });
    return this.url(path);
  }

  url(path: string): string {
    return `http://${this.hostPort}${path}`;
  }

  to(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path);
  }

  /** Waits until `count` deliveries reached `path`; those deliveries. */
  async waitFor(path: string, count = 1, timeoutMs = 60_000): Promise<Delivery[]> {
    await until(
      async () => this.to(path).length >= count,
      `${count} deliveries to ${path} (got ${JSON.stringify(this.deliveries)})`,
      timeoutMs,
    );
    return this.to(path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** Polls `check` every 250 ms until it holds; throws after `timeoutMs` saying `what`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Subscribes `events` of `repository` to webhooks at `receiver`, each on the path `/<event>`. */
export async function subscribe(
  base: string,
  token: string,
  repository: string,
  receiver: WebhookReceiver,
  events: string[],
): Promise<void> {
  for (const event of events) {
    await apiCall(base, token, "POST", `/repository/${repository}/notification/`, {
      event,
      method: "webhook",
      config: { url: receiver.url(`/${event}`) },
      eventConfig: {},
      title: event,
    });
  }
}

/** A connector made by the superuser (`POST /api/v1/superuser/connectors`); its token. */
export async function createConnector(base: string, adminToken: string, name: string, kinds: string[]) {
  const res = await fetch(`${base}/api/v1/superuser/connectors`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, kinds }),
  });
  const body = (await res.json()) as { uuid: string; token: string; name: string; kinds: string[] };
  if (res.status !== 201) throw new Error(`create connector: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** `npm run connector` against `base`, as an operator on the same host runs it for a plain-HTTP edge. */
export function startConnector(base: string, token: string, workDir: string, extra: string[] = []) {
  return ConnectorProcess.start(
    ["--edge", base, "--insecure-registry", "--allow-private-sources", "--work-dir", workDir, ...extra],
    { WHARF_CONNECTOR_TOKEN: token },
  );
}

/** Waits for build `uuid` of `repository` to leave the running phases; its last view. */
export async function waitForBuild(
  base: string,
  token: string,
  repository: string,
  uuid: string,
  timeoutMs = 120_000,
  connector?: ConnectorProcess,
): Promise<any> {
  let view: any;
  const ended = new Set(["complete", "error", "internalerror", "cancelled", "expired"]);
  await until(
    async () => {
      view = await apiCall(base, token, "GET", `/repository/${repository}/build/${uuid}`);
      return ended.has(view.phase);
    },
    `build ${uuid} to end (last ${JSON.stringify(view)})\n${connector?.output().slice(-3000) ?? ""}`,
    timeoutMs,
  );
  return view;
}
