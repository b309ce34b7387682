/**
 * A fake Wharf edge for the connector's own tests: a loopback HTTP server that implements
 * docs/connector.md's `/connector/v1` just enough (hello, lease, heartbeat, complete, fail,
 * source, layers), hands out the jobs a test queues, and records every call. A test can make it
 * answer 503, lose a job's lease (409 `lease_lost`), serve a build's uploaded source, or serve
 * layers at signed URLs as the edge serves them to Clair.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  method: string;
  path: string;
  status: number;
  body: any;
  lease: string | undefined;
  at: number;
}

export interface QueuedJob {
  uuid: string;
  kind: string;
  payload: Record<string, unknown>;
  leaseToken?: string;
  attempts: number;
  lost?: { cancelled: boolean };
  completed?: any;
  failed?: { error: string; retry: boolean };
}

export class FakeEdge {
  readonly token = `wharfc_${randomBytes(20).toString("hex")}`;
  readonly calls: RecordedCall[] = [];
  readonly jobs: QueuedJob[] = [];
  /** Completions are refused as a body the edge cannot take (400 `invalid`). */
  refuseResults = false;
  /** Answers 503 to this many next calls of `/hello` or `/lease`. */
  unavailable = 0;
  hello = { lease_seconds: 60, heartbeat_seconds: 1, poll_seconds: 1, kinds: ["build", "scan", "scan_notification"] };
  /** A build's uploaded source, by job uuid: bytes and content type. */
  readonly sources = new Map<string, { bytes: Buffer; type: string }>();

  /** Layers served at `/connector/v1/layers/{signed}` (no token: the path is the credential). */
  private readonly layers = new Map<string, Buffer>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeEdge> {
    let self: FakeEdge | undefined;
    const server = http.createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new FakeEdge(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Queues a job of `kind` whose kind field (`build`, `scan`, …) is `payload`; its uuid. */
  queue(kind: string, payload: Record<string, unknown>): QueuedJob {
    const job: QueuedJob = { uuid: randomUUID(), kind, payload, attempts: 0 };
    this.jobs.push(job);
    return job;
  }

  /** Serves `bytes` as a layer at a fresh signed URL; the layer as a scan job lists it. */
  serveLayer(bytes: Buffer): { hash: string; uri: string; headers: Record<string, string[]> } {
    const signed = randomBytes(24).toString("base64url");
    this.layers.set(signed, bytes);
    return {
      hash: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      uri: `${this.url}/connector/v1/layers/${signed}`,
      headers: { Accept: ["application/gzip"] },
    };
  }

  /** The job's lease expires: it can be leased again, and its old lease token is refused (409). */
  expireLease(job: QueuedJob): void {
    job.leaseToken = undefined;
  }

  /** The next heartbeat of `job` (and every call after) answers 409 lease_lost. */
  loseLease(job: QueuedJob, cancelled = false): void {
    job.lost = { cancelled };
  }

  callsTo(suffix: string, job?: QueuedJob): RecordedCall[] {
    return this.calls.filter((c) => c.path.endsWith(suffix) && (!job || c.path.includes(job.uuid)));
  }

  /** Waits until `predicate` holds (polling), or fails with the calls so far. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(
          `${what}: not within ${timeoutMs} ms; calls: ${this.calls.map((c) => `${c.method} ${c.path} ${c.status}`).join(", ")}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const path = new URL(req.url ?? "/", this.url).pathname;
    const lease = req.headers["x-wharf-lease"] as string | undefined;
    const answer = (status: number, json?: unknown) => {
      this.calls.push({ method: req.method ?? "", path, status, body, lease, at: Date.now() });
      res.statusCode = status;
      if (json === undefined) return void res.end();
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(json));
    };
    const layer = /^\/connector\/v1\/layers\/([^/]+)$/.exec(path);
    if (req.method === "GET" && layer) {
      const bytes = this.layers.get(layer[1]!);
      if (!bytes) return answer(404, { error: "not_found", message: "No such layer" });
      this.calls.push({ method: "GET", path, status: 200, body: null, lease, at: Date.now() });
      res.setHeader("Content-Type", "application/octet-stream");
      return void res.end(bytes);
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return answer(401, { error: "unauthorized", message: "Unknown connector token" });
    if ((path === "/connector/v1/hello" || path === "/connector/v1/lease") && this.unavailable > 0) {
      this.unavailable -= 1;
      return answer(503, { error: "unavailable", message: "The edge is restarting" });
    }
    if (req.method === "POST" && path === "/connector/v1/hello")
      return answer(200, {
        connector: { uuid: "c0nn3ct0r", name: "test-connector", kinds: this.hello.kinds },
        lease_seconds: this.hello.lease_seconds,
        heartbeat_seconds: this.hello.heartbeat_seconds,
        poll_seconds: this.hello.poll_seconds,
        server_time: Date.now(),
      });
    if (req.method === "POST" && path === "/connector/v1/lease") {
      const kinds: string[] = body?.kinds ?? [];
      const job = this.jobs.find((j) => !j.leaseToken && !j.completed && !j.failed && kinds.includes(j.kind));
      if (!job) return answer(204);
      job.leaseToken = randomBytes(16).toString("hex");
      job.attempts += 1;
      return answer(200, {
        job: {
          uuid: job.uuid,
          kind: job.kind,
          lease_token: job.leaseToken,
          lease_expires_at: Date.now() + this.hello.lease_seconds * 1000,
          attempts: job.attempts,
          [job.kind]: job.payload,
        },
      });
    }
    const match = /^\/connector\/v1\/jobs\/([^/]+)\/(heartbeat|complete|fail|source)$/.exec(path);
    const job = match ? this.jobs.find((j) => j.uuid === match[1]) : undefined;
    if (!match || !job) return answer(404, { error: "not_found", message: "No such job" });
    if (!lease || !job.leaseToken || lease !== job.leaseToken || job.lost || job.completed || job.failed)
      return answer(409, {
        error: "lease_lost",
        message: "The lease was lost",
        cancelled: job.lost?.cancelled ?? false,
      });
    switch (match[2]) {
      case "heartbeat":
        return answer(200, { lease_expires_at: Date.now() + this.hello.lease_seconds * 1000 });
      case "complete":
        if (this.refuseResults) return answer(400, { error: "invalid", message: "The result does not parse" });
        job.completed = body;
        return answer(200, {});
      case "fail":
        job.failed = body;
        return answer(200, {});
      default: {
        const source = this.sources.get(job.uuid);
        if (!source) return answer(404, { error: "not_found", message: "No source" });
        this.calls.push({ method: "GET", path, status: 200, body: null, lease, at: Date.now() });
        res.setHeader("Content-Type", source.type);
        res.end(source.bytes);
      }
    }
  }
}
