/**
 * Runs the tools a job needs (git, tar, unzip, buildah, podman) as child processes: each in its
 * own process group, so that a lost lease or a shutdown kills the tool and everything it started
 * (a RUN step's processes); output handed over line by line as it comes, for the build's log.
 */
import { spawn } from "node:child_process";

export interface ChildOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Aborting kills the process group at once (SIGKILL). */
  signal?: AbortSignal;
  /** Each output line (without its newline), as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Kept whole (up to 4 MiB) instead of being split into lines only; for listings. */
  captureStdout?: boolean;
  /** How a failure names the command (`buildah bud`); the command's name by default. */
  label?: string;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last lines of stderr (up to 8 KiB), for a failure's message. */
  stderrTail: string;
}

/** An error whose message is what the tool said; `result` has its exit status. */
export class ChildFailed extends Error {
  constructor(
    message: string,
    readonly result: ChildResult,
  ) {
    super(message);
  }
}

const MAX_CAPTURE = 4 * 1024 * 1024;
const MAX_LINE = 8192;

export function runChild(command: string, args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new Error(`${command} not started: the job was stopped`));
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, LC_ALL: "C", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderrTail = "";
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    options.signal?.addEventListener("abort", kill, { once: true });
    for (const name of ["stdout", "stderr"] as const) {
      let pending = "";
      child[name].setEncoding("utf8");
      child[name].on("data", (chunk: string) => {
        if (name === "stdout" && options.captureStdout && stdout.length < MAX_CAPTURE) stdout += chunk;
        if (name === "stderr") stderrTail = (stderrTail + chunk).slice(-8192);
        pending += chunk;
        const lines = pending.split(/\r?\n|\r/);
        pending = lines.pop() ?? "";
        if (pending.length > MAX_LINE) {
          lines.push(pending);
          pending = "";
        }
        for (const line of lines) options.onLine?.(line.slice(0, MAX_LINE), name);
      });
      child[name].on("end", () => {
        if (pending) options.onLine?.(pending.slice(0, MAX_LINE), name);
        pending = "";
      });
    }
    child.on("error", (err) => {
      options.signal?.removeEventListener("abort", kill);
      reject(new Error(`${command} could not be started: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      options.signal?.removeEventListener("abort", kill);
      resolve({ code, signal, stdout, stderrTail });
    });
  });
}

/** Runs the command and throws {@link ChildFailed} (the tool's last error line) unless it exits 0. */
export async function runChecked(command: string, args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  const result = await runChild(command, args, options);
  if (options.signal?.aborted) throw new Error(`${command} was stopped: the job was stopped`);
  if (result.code !== 0) throw new ChildFailed(failureMessage(options.label ?? command, result), result);
  return result;
}

/** Lines an error line ending in `:` may carry after it (buildah's registry errors list causes so). */
const CONTINUATION_LINES = 4;

/**
 * What the tool said went wrong: its last `Error:` line, else its last stderr line, else its
 * status. An error line that ends in `:` goes on over the next lines (buildah says "reading
 * manifest …: errors:" and then `denied: …` and `unauthorized: …` on lines of their own): they
 * are joined to it, or the message would end on the colon and hide the cause.
 */
export function failureMessage(label: string, result: ChildResult): string {
  const lines = result.stderrTail
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const at = lines.findLastIndex((l) => /^(error|fatal)\b/i.test(l));
  let error = at >= 0 ? lines[at] : lines.at(-1);
  if (at >= 0 && error!.endsWith(":")) error = [error, ...lines.slice(at + 1, at + 1 + CONTINUATION_LINES)].join(" ");
  const status = result.signal ? `killed by ${result.signal}` : `exit status ${result.code}`;
  return error ? `${label}: ${error}` : `${label} failed (${status})`;
}
