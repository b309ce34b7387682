/**
 * The edge's `/connector/v1` surface as docs/connector.md defines it: hello, lease, heartbeat,
 * complete, fail and a build's source. Errors are typed so the lease loop can tell a dead edge
 * (retry with backoff) from a lost lease (stop the job) from a refusal (give up).
 */
import { z } from "zod";
import { type LeasedJob, leasedJob } from "./jobs";
import { networkReason } from "./log";

/** The edge could not be reached, or answered 5xx: try again later. */
export class EdgeUnavailable extends Error {}

/** The edge refused the call (4xx other than a lost lease): trying again will not help. */
export class EdgeRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** 409 `lease_lost`: another lease holds the job, or it was cancelled; its work must stop. */
export class LeaseLost extends Error {
  constructor(readonly cancelled: boolean) {
    super(cancelled ? "the job was cancelled" : "the job's lease was lost");
  }
}

const helloAnswer = z.object({
  connector: z.object({ uuid: z.string(), name: z.string(), kinds: z.array(z.string()) }),
  lease_seconds: z.number().positive(),
  heartbeat_seconds: z.number().positive(),
  poll_seconds: z.number().positive(),
  server_time: z.unknown().optional(),
});
export type Hello = z.infer<typeof helloAnswer>;

export interface LogEntry {
  message: string;
  type?: "phase" | "command" | "error";
  data?: Record<string, unknown>;
}

export interface Heartbeat {
  phase?: string;
  logs?: LogEntry[];
}

export class EdgeClient {
  readonly base: URL;

  constructor(
    edge: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(edge.endsWith("/") ? edge : `${edge}/`);
  }

  async hello(body: { version: string; hostname: string; builder: string | null; scanner: boolean }): Promise<Hello> {
    return helloAnswer.parse(await this.json("POST", "connector/v1/hello", body));
  }

  /** The next job for `kinds`, or null when nothing is due (204). */
  async lease(kinds: string[]): Promise<LeasedJob | null> {
    const answer = await this.json("POST", "connector/v1/lease", { kinds });
    if (answer === null) return null;
    return leasedJob.parse((answer as { job?: unknown }).job);
  }

  async heartbeat(job: LeasedJob, body: Heartbeat): Promise<void> {
    await this.json("POST", `connector/v1/jobs/${encodeURIComponent(job.uuid)}/heartbeat`, body, job.lease_token);
  }

  async complete(job: LeasedJob, result: unknown): Promise<void> {
    await this.json("POST", `connector/v1/jobs/${encodeURIComponent(job.uuid)}/complete`, result, job.lease_token);
  }

  async fail(job: LeasedJob, error: string, retry: boolean): Promise<void> {
    const body = { error: error.slice(0, 4000), retry };
    await this.json("POST", `connector/v1/jobs/${encodeURIComponent(job.uuid)}/fail`, body, job.lease_token);
  }

  /** A build's uploaded source, as a response whose body the caller streams to disk. */
  async source(job: LeasedJob, signal?: AbortSignal): Promise<Response> {
    const url = new URL(`connector/v1/jobs/${encodeURIComponent(job.uuid)}/source`, this.base);
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers(job.lease_token), signal });
    } catch (err) {
      throw new EdgeUnavailable(`GET ${url.pathname}: ${networkReason(err)}`, { cause: err });
    }
    if (res.status !== 200) await this.raise("GET", url.pathname, res);
    return res;
  }

  private headers(lease?: string): Record<string, string> {
    return {
      Authorization: `Bearer ${this.token}`,
      ...(lease ? { "X-Wharf-Lease": lease } : {}),
    };
  }

  private async json(method: string, path: string, body: unknown, lease?: string): Promise<unknown> {
    const url = new URL(path, this.base);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...this.headers(lease), "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new EdgeUnavailable(`${method} ${url.pathname}: ${networkReason(err)}`, { cause: err });
    }
    if (res.status === 204) return null;
    if (res.status >= 200 && res.status < 300) {
      const text = await res.text();
      try {
        return text ? JSON.parse(text) : {};
      } catch {
        throw new EdgeUnavailable(`${method} ${url.pathname}: the edge answered ${res.status} with no JSON`);
      }
    }
    return this.raise(method, url.pathname, res);
  }

  private async raise(method: string, path: string, res: Response): Promise<never> {
    const text = await res.text().catch(() => "");
    let body: { error?: string; message?: string; cancelled?: boolean } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: a proxy's page
    }
    if (res.status >= 500 || res.status === 429)
      throw new EdgeUnavailable(`${method} ${path}: ${res.status} ${body.message ?? text.slice(0, 200)}`);
    if (res.status === 409) throw new LeaseLost(body.cancelled === true);
    throw new EdgeRefused(
      res.status,
      body.error ?? "error",
      `${method} ${path}: ${res.status} ${body.error ?? ""} ${body.message ?? text.slice(0, 200)}`.trim(),
    );
  }
}
