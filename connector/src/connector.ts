/**
 * The lease loop (docs/connector.md): hello, then lease → run → complete or fail, polling every
 * `poll_seconds` when nothing is due, backing off (1 s … 60 s, jittered) while the edge is
 * unreachable or answers 5xx. At most `concurrency` jobs at once (one by default), never the same
 * job twice. On shutdown it stops leasing and gives the running job a grace period, after which
 * the job is failed with `retry`, so another connector takes it.
 */
import os from "node:os";
import { Backoff, sleep } from "./backoff";
import { EdgeClient, EdgeRefused, EdgeUnavailable, type Hello, LeaseLost } from "./edge-client";
import { JobRun } from "./job-run";
import type { LeasedJob } from "./jobs";
import { describeError, log } from "./log";

/** What a job's runner hands back: the completion's body, and what to do once the edge took it. */
export interface JobOutcome {
  result: unknown;
  afterComplete?: () => Promise<void>;
}

/** A job that failed: `retry` says whether another attempt may succeed. */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

export type JobRunner = (job: LeasedJob, run: JobRun) => Promise<JobOutcome>;

export interface ConnectorSettings {
  edge: string;
  token: string;
  version: string;
  builder: string | null;
  /** The runner of each kind this host can do. */
  runners: Map<string, JobRunner>;
  concurrency: number;
  once: boolean;
  graceMs: number;
}

export class Connector {
  private readonly edge: EdgeClient;
  private readonly stopLeasing = new AbortController();
  private readonly running = new Map<string, { run: JobRun; done: Promise<void> }>();
  private hello: Hello | undefined;
  private stopRequestedAt = 0;
  private jobsTaken = 0;
  private exitCode = 0;

  constructor(private readonly settings: ConnectorSettings) {
    this.edge = new EdgeClient(settings.edge, settings.token);
  }

  /** Runs until shut down (or, with `once`, until one job ran); the process's exit status. */
  async run(): Promise<number> {
    const hello = await this.sayHello();
    if (!hello) return this.exitCode;
    const kinds = hello.connector.kinds.filter((k) => this.settings.runners.has(k));
    if (kinds.length === 0) {
      log(
        `this connector may lease ${hello.connector.kinds.join(", ") || "nothing"}, but this host can run only ${[...this.settings.runners.keys()].join(", ") || "nothing"} (see --builder, --clair)`,
      );
      return 1;
    }
    log(`connected to ${this.edge.base.origin} as ${hello.connector.name}; leasing ${kinds.join(", ")}`);
    const workers = this.settings.once ? 1 : this.settings.concurrency;
    await Promise.all(Array.from({ length: workers }, () => this.leaseLoop(kinds, hello)));
    await Promise.all([...this.running.values()].map((r) => r.done));
    return this.exitCode;
  }

  /** Stops leasing; running jobs get `graceMs` to finish, then are failed with retry. A second call abandons at once. */
  shutdown(): void {
    // A terminal's Ctrl-C reaches npm, tsx and the connector at once, and tsx relays it: a second
    // signal within a second is that echo, not an operator insisting.
    if (this.stopLeasing.signal.aborted && Date.now() - this.stopRequestedAt < 1000) return;
    if (this.stopLeasing.signal.aborted) {
      for (const { run } of this.running.values()) run.stop("shutdown");
      return;
    }
    log(`stopping: no new jobs; ${this.running.size} running job(s) get ${this.settings.graceMs / 1000} s to finish`);
    this.stopRequestedAt = Date.now();
    this.stopLeasing.abort();
    const timer = setTimeout(() => {
      for (const { run } of this.running.values()) run.stop("shutdown");
    }, this.settings.graceMs);
    timer.unref();
  }

  private async sayHello(): Promise<Hello | undefined> {
    const backoff = new Backoff();
    const body = {
      version: this.settings.version,
      hostname: os.hostname(),
      builder: this.settings.builder,
      scanner: this.settings.runners.has("scan"),
    };
    while (!this.stopLeasing.signal.aborted) {
      try {
        this.hello = await this.edge.hello(body);
        return this.hello;
      } catch (err) {
        if (!(err instanceof EdgeUnavailable)) {
          log(`the edge refused this connector: ${describeError(err)}`);
          this.exitCode = 1;
          return undefined;
        }
        const wait = backoff.next();
        log(`the edge is unreachable (${describeError(err)}); retrying in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, this.stopLeasing.signal);
      }
    }
    return undefined;
  }

  private async leaseLoop(kinds: string[], hello: Hello): Promise<void> {
    const backoff = new Backoff();
    const stop = this.stopLeasing.signal;
    while (!stop.aborted && !(this.settings.once && this.jobsTaken > 0)) {
      let job: LeasedJob | null;
      try {
        job = await this.edge.lease(kinds);
        backoff.reset();
      } catch (err) {
        if (err instanceof EdgeRefused) {
          log(`the edge refused to lease: ${describeError(err)}; stopping`);
          this.exitCode = 1;
          this.stopLeasing.abort();
          return;
        }
        const wait = backoff.next();
        log(`lease failed (${describeError(err)}); retrying in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, stop);
        continue;
      }
      if (!job) {
        await sleep(hello.poll_seconds * 1000, stop);
        continue;
      }
      if (stop.aborted) {
        // Leased as the connector was stopping: hand it straight back.
        await this.report(job, () => this.edge.fail(job, "the connector stopped before starting the job", true));
        return;
      }
      this.jobsTaken += 1;
      await this.runOnce(job, hello);
    }
  }

  /** Runs `job`; a job this process is already running (its lease was renewed elsewhere) is stopped first. */
  private async runOnce(job: LeasedJob, hello: Hello): Promise<void> {
    const previous = this.running.get(job.uuid);
    if (previous) {
      log(`job ${job.uuid} was leased again while running here: stopping the stale run first`);
      previous.run.stop("lease_lost");
      await previous.done;
    }
    const runner = this.settings.runners.get(job.kind);
    const run = new JobRun(this.edge, job, hello.heartbeat_seconds * 1000, job.kind === "build");
    const done = this.execute(job, run, runner);
    this.running.set(job.uuid, { run, done });
    try {
      await done;
    } finally {
      if (this.running.get(job.uuid)?.run === run) this.running.delete(job.uuid);
    }
  }

  private async execute(job: LeasedJob, run: JobRun, runner: JobRunner | undefined): Promise<void> {
    log(`job ${job.uuid}: ${job.kind} (attempt ${job.attempts ?? 1})`);
    run.start();
    try {
      if (!runner) throw new JobFailure(`this connector cannot run ${job.kind} jobs`, true);
      const outcome = await runner(job, run);
      if (run.signal.aborted) throw new Error("stopped");
      await run.flush();
      if (run.signal.aborted) throw new Error("stopped");
      const accepted = await this.report(job, () => this.edge.complete(job, outcome.result), run);
      if (accepted === "refused") return;
      if (accepted) {
        log(`job ${job.uuid}: done`);
        await outcome.afterComplete?.().catch((err) => log(`job ${job.uuid}: after completion: ${describeError(err)}`));
      }
    } catch (err) {
      const reason = run.stopReason;
      if (reason === "lease_lost" || reason === "cancelled") {
        log(
          `job ${job.uuid}: ${reason === "cancelled" ? "cancelled" : "lease lost"}; its work was stopped and its result dropped`,
        );
        return;
      }
      const failure =
        reason === "shutdown"
          ? new JobFailure("the connector stopped before the job finished", true)
          : err instanceof JobFailure
            ? err
            : new JobFailure(`the connector failed: ${describeError(err)}`, true);
      log(`job ${job.uuid}: failed${failure.retry ? " (will be retried)" : ""}: ${failure.message}`);
      if (reason !== "shutdown") await run.flush();
      await this.report(job, () => this.edge.fail(job, failure.message, failure.retry));
    } finally {
      run.finish();
    }
  }

  /**
   * Sends a completion or a failure, retrying while the edge is unreachable (up to a lease's
   * length). True when accepted, false when given up; with `run` (a completion), "refused" when the
   * edge refused the result's body (then the job is failed, for good, with the edge's reason).
   */
  private async report(job: LeasedJob, call: () => Promise<void>, run?: JobRun): Promise<boolean | "refused"> {
    const backoff = new Backoff(500, 10_000);
    const deadline = Date.now() + Math.max(60_000, (this.hello?.lease_seconds ?? 60) * 1000);
    for (;;) {
      try {
        await call();
        return true;
      } catch (err) {
        if (err instanceof LeaseLost) {
          log(`job ${job.uuid}: the lease was lost before its report; dropped`);
          return false;
        }
        if (err instanceof EdgeRefused) {
          log(`job ${job.uuid}: the edge refused the report: ${describeError(err)}`);
          if (run && !run.signal.aborted) {
            await this.report(job, () => this.edge.fail(job, `the edge refused the result: ${err.message}`, false));
            return "refused";
          }
          return false;
        }
        if (Date.now() > deadline) {
          log(`job ${job.uuid}: could not report to the edge (${describeError(err)}); its lease will expire`);
          return false;
        }
        await sleep(backoff.next());
      }
    }
  }
}
