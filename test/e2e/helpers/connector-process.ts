/**
 * The origin connector as an operator runs it (`npm run connector -- …`), for the end-to-end
 * tests: its output collected, its own process found (it prints its pid) so signals reach the
 * connector itself and not npm, and everything it started killed at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { ROOT } from "./server";
import { openLog } from "./test-logs";

export class ConnectorProcess {
  private readonly chunks: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly proc: ChildProcess) {
    // Kept for the secret scan of `npm test` (./test-logs.ts): a connector holds its token.
    const log = openLog("connector");
    for (const stream of [proc.stdout!, proc.stderr!]) {
      stream.on("data", (d: Buffer) => {
        this.chunks.push(d.toString("utf8"));
        log.write(d);
        if (process.env.WHARF_E2E_CONNECTOR_LOG) process.stderr.write(d);
      });
    }
    this.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts `npm run connector -- ...args` with `env` added to this process's environment. */
  static start(args: string[], env: Record<string, string> = {}): ConnectorProcess {
    const proc = spawn("npm", ["run", "--silent", "connector", "--", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    return new ConnectorProcess(proc);
  }

  /** Everything it printed so far. */
  output(): string {
    return this.chunks.join("");
  }

  /** Waits until its output matches `pattern`; the match. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output().match(pattern);
      if (match) return match;
      if (Date.now() > deadline)
        throw new Error(
          `the connector did not print ${pattern} within ${timeoutMs} ms:\n${this.output().slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The connector's own pid (from its first log line). */
  async pid(): Promise<number> {
    return Number((await this.waitForOutput(/pid (\d+)/))[1]);
  }

  /** Sends `signal` to the connector itself, as a service manager would. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    process.kill(await this.pid(), signal);
  }

  /** Waits for the exit (up to `timeoutMs`); throws if it is still running. */
  async waitForExit(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`the connector did not exit:\n${this.output().slice(-4000)}`)),
        timeoutMs,
      ).unref(),
    );
    return Promise.race([this.exited, timeout]);
  }

  /** Kills npm, tsx, the connector and whatever it runs (its process group). */
  async kill(): Promise<void> {
    try {
      process.kill(-this.proc.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}
