/**
 * One leased job while it runs: its heartbeats (every `heartbeat_seconds`, renewing the lease
 * and carrying the build's phase and the log lines gathered since the last one), and the signal
 * that stops its work: a heartbeat answered 409 `lease_lost` (another connector holds the job, or
 * it was cancelled) or the connector shutting down. Aborting kills the job's child processes.
 */
import { sleep } from "./backoff";
import { type EdgeClient, EdgeRefused, EdgeUnavailable, type Heartbeat, LeaseLost, type LogEntry } from "./edge-client";
import type { LeasedJob } from "./jobs";
import { describeError, log } from "./log";

/** Log entries per heartbeat; more are sent in further heartbeats at once. */
const LOGS_PER_HEARTBEAT = 500;
/** Entries kept while the edge is unreachable; the oldest beyond this are dropped (and said so). */
const MAX_BUFFERED_LOGS = 20_000;

export type StopReason = "lease_lost" | "cancelled" | "shutdown";

export class JobRun {
  private readonly controller = new AbortController();
  private phase: string | undefined;
  private sentPhase: string | undefined;
  private logs: LogEntry[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly edge: EdgeClient,
    readonly job: LeasedJob,
    private readonly heartbeatMs: number,
    /** Builds report phases and logs; the other kinds only renew their lease (the edge refuses progress for them). */
    private readonly reportsProgress: boolean,
  ) {}

  /** Aborted when the job's work must stop; `reason` says why. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopReason(): StopReason | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as StopReason) : undefined;
  }

  start(): void {
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeats (the job was completed, failed or dropped). */
  finish(): void {
    clearInterval(this.timer);
  }

  /** Stops the job's work (its child processes are killed). */
  stop(reason: StopReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Enters Quay's build phase `phase`; the edge hears of it at once. */
  enterPhase(phase: string): void {
    this.phase = phase;
    void this.heartbeat();
  }

  log(entry: LogEntry): void {
    if (!this.reportsProgress) return;
    this.logs.push(entry);
    if (this.logs.length > MAX_BUFFERED_LOGS) {
      this.dropped += this.logs.length - MAX_BUFFERED_LOGS;
      this.logs.splice(0, this.logs.length - MAX_BUFFERED_LOGS);
    }
    if (this.logs.length >= LOGS_PER_HEARTBEAT) void this.heartbeat();
  }

  /** Sends everything gathered so far (before a completion, so the log is whole first). */
  async flush(): Promise<void> {
    // While the edge is unreachable, up to a minute: past that the lease is gone anyway.
    const deadline = Date.now() + Math.max(60_000, this.heartbeatMs * 4);
    while ((this.logs.length > 0 || this.phase !== this.sentPhase) && Date.now() < deadline) {
      if (this.signal.aborted) return;
      const before = this.logs.length;
      await this.heartbeat();
      if (this.logs.length >= before && this.phase === this.sentPhase) {
        // the edge did not take them (unreachable): give it a moment, then try again
        await sleep(1000, this.signal);
      }
    }
  }

  /** One heartbeat at a time, in order: the edge sees the log lines in the order they came. */
  heartbeat(): Promise<void> {
    this.inFlight = this.inFlight.then(() => this.sendHeartbeat());
    return this.inFlight;
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.signal.aborted && this.stopReason !== "shutdown") return;
    const body: Heartbeat = {};
    let sending: LogEntry[] = [];
    if (this.reportsProgress) {
      if (this.phase !== undefined && this.phase !== this.sentPhase) body.phase = this.phase;
      if (this.dropped > 0) {
        this.logs.unshift({ message: `(${this.dropped} log lines were dropped while the edge was unreachable)` });
        this.dropped = 0;
      }
      sending = this.logs.splice(0, LOGS_PER_HEARTBEAT);
      if (sending.length > 0) body.logs = sending;
    }
    const phase = body.phase;
    try {
      await this.edge.heartbeat(this.job, body);
      if (phase !== undefined) this.sentPhase = phase;
    } catch (err) {
      if (err instanceof LeaseLost) {
        log(`job ${this.job.uuid}: ${err.message}; stopping its work`);
        this.stop(err.cancelled ? "cancelled" : "lease_lost");
        return;
      }
      if (err instanceof EdgeRefused && err.status === 404) {
        // The edge no longer has the job (its repository was deleted): nothing to report it to.
        log(`job ${this.job.uuid}: the edge no longer knows it; stopping its work`);
        this.stop("lease_lost");
        return;
      }
      // Kept for the next heartbeat: the lease lasts several heartbeats.
      this.logs.unshift(...sending);
      if (!(err instanceof EdgeUnavailable)) log(`job ${this.job.uuid}: heartbeat refused: ${describeError(err)}`);
      else log(`job ${this.job.uuid}: heartbeat failed: ${describeError(err)}`);
    }
  }
}
