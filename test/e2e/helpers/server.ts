/**
 * Starts `npm start`'s script (scripts/start.mjs) on a free port with its own state directory,
 * the way a user runs the registry, and stops it with its whole process tree.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url: string, timeoutMs = 90_000, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before answering ${url}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export interface RunningServer {
  url: string;
  pid: number;
  stateDir: string;
  /** Stops the registry; its state directory is removed unless `keepState`. */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

/**
 * Starts the registry; with `stateDir`, on the state a previous run left there; with `env`, extra
 * settings for scripts/start.mjs (e.g. WHARF_INSPECTOR_PORT).
 */
export async function startWharf(options: { stateDir?: string; env?: Record<string, string> } = {}): Promise<RunningServer> {
  const port = await freePort();
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), "wharf-e2e-")));
  const logs: string[] = [];
  const proc = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs")], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(port), WHARF_STATE_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [proc.stdout!, proc.stderr!]) {
    stream.on("data", (d: Buffer) => {
      logs.push(d.toString());
      if (logs.length > 200) logs.shift();
      // WHARF_E2E_LOG=<file> keeps the registry's whole output for debugging a run.
      if (process.env.WHARF_E2E_LOG) appendFileSync(process.env.WHARF_E2E_LOG, d);
    });
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, 90_000, proc);
  } catch (err) {
    killTree(proc);
    throw new Error(`${(err as Error).message}\n--- server output ---\n${logs.join("").slice(-4000)}`);
  }
  return {
    url,
    pid: proc.pid!,
    stateDir,
    async stop({ keepState = false } = {}) {
      const exited = new Promise((r) => proc.once("exit", r));
      killTree(proc);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      await new Promise((r) => setTimeout(r, 500));
      if (!keepState) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

function killTree(proc: ChildProcess): void {
  try {
    process.kill(-proc.pid!, "SIGTERM");
  } catch {
    // already gone
  }
}
