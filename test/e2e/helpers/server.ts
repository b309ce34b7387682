/**
 * Starts `npm start`'s script (scripts/start.mjs) on a free port with its own state directory,
 * the way a user runs the registry, and stops it with its whole process tree.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { RegistryLogin, type Credentials } from "./registry-auth";
import { openLog } from "./test-logs";

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
  /** A superuser OAuth token (all scopes) for /api/v1 calls, unless npm start bootstrapped the admin itself. */
  adminToken: string;
  /** Logged-in raw HTTP: `login.fetch` sends the token the repository's namespace owner would hold. */
  login: RegistryLogin;
  /** The owner of `namespace` (a user of that name, created on first use), as `podman login` takes them. */
  credentialsFor(namespace: string): Promise<Credentials>;
  /** What the registry printed so far (the last 200 writes). */
  output(): string;
  /** Stops the registry; its state directory is removed unless `keepState`. */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

/**
 * Starts the registry; with `stateDir`, on the state a previous run left there; with `env`, extra
 * settings for scripts/start.mjs (e.g. WHARF_INSPECTOR_PORT).
 */
export async function startWharf(
  options: { stateDir?: string; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const port = await freePort();
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), "wharf-e2e-")));
  const logs: string[] = [];
  // Everything the registry prints goes to a file of the run, which `npm test` scans for secrets.
  const log = openLog("registry");
  const proc = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs")], {
    cwd: ROOT,
    // The tests create their superuser through the API (below), to keep its token. No private
    // outbound host is allowed unless a test says so, whatever the shell that runs the suite sets.
    // Every client here is local, so all share one address for the login limits: its limit is
    // raised, since the suite's deliberate refusals (wrong passwords, revoked tokens) add up.
    env: {
      ...process.env,
      WHARF_BOOTSTRAP_ADMIN: "false",
      ALLOW_PRIVATE_OUTBOUND: "",
      LOGIN_FAILURES_PER_IP: "1000",
      ...options.env,
      PORT: String(port),
      WHARF_STATE_DIR: stateDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [proc.stdout!, proc.stderr!]) {
    stream.on("data", (d: Buffer) => {
      logs.push(d.toString());
      log.write(d);
      if (logs.length > 200) logs.shift();
      // WHARF_E2E_LOG=<file> keeps the registry's whole output for debugging a run.
      if (process.env.WHARF_E2E_LOG) appendFileSync(process.env.WHARF_E2E_LOG, d);
    });
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, 90_000, proc);
    // scripts/start.mjs says "ready" once the superuser bootstrap (if any) is done.
    const deadline = Date.now() + 30_000;
    while (!logs.join("").includes("wharf: registry ready")) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error("no ready line from scripts/start.mjs");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    log.recordSecrets(stateDir);
    killTree(proc);
    throw new Error(`${(err as Error).message}\n--- server output ---\n${logs.join("").slice(-4000)}`);
  }
  let connected: Awaited<ReturnType<typeof connectWharf>>;
  try {
    connected = await connectWharf(url, stateDir);
  } catch (err) {
    killTree(proc);
    throw err;
  }
  return {
    ...connected,
    pid: proc.pid!,
    stateDir,
    output: () => logs.join(""),
    async stop({ keepState = false } = {}) {
      log.recordSecrets(stateDir);
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

/**
 * The shared registry of the end-to-end run (global-setup.ts), reached from a test file: its
 * identities are read from its state directory.
 */
export async function connectWharf(url: string, stateDir: string) {
  const identities = await testIdentities(url, stateDir);
  const credentialsFor = (namespace: string) => identities.userFor(namespace);
  return { url, adminToken: identities.adminToken, credentialsFor, login: new RegistryLogin(url, credentialsFor) };
}

interface SavedIdentities {
  adminToken?: string;
  users: Record<string, string>;
}

/**
 * Writes the identities, merged with what other test files saved meanwhile (each runs in its own
 * worker with its own copy), through a file of this process's own renamed into place: a reader
 * never sees half a file, and two writers never interleave their bytes in one.
 */
async function saveIdentities(file: string, saved: SavedIdentities): Promise<void> {
  const onDisk: SavedIdentities = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : { users: {} };
  Object.assign(saved.users, { ...onDisk.users, ...saved.users });
  saved.adminToken ??= onDisk.adminToken;
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(temporary, JSON.stringify(saved), { mode: 0o600 });
  await rename(temporary, file);
}

interface TestIdentities {
  adminToken: string;
  userFor(namespace: string): Promise<Credentials>;
}

/**
 * The superuser the tests act through (created with POST /api/v1/user/initialize, which returns
 * an OAuth token) and one user per repository namespace, made with the superuser API. Kept in the
 * state directory so a restarted registry (restart.test.ts) is reached with the same identities.
 */
async function testIdentities(url: string, stateDir: string): Promise<TestIdentities> {
  const file = path.join(stateDir, "e2e-identities.json");
  const saved: SavedIdentities = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : { users: {} };
  const save = () => saveIdentities(file, saved);
  if (!saved.adminToken) {
    const password = `admin-${Math.random().toString(36).slice(2)}-pass`;
    const res = await fetch(`${url}/api/v1/user/initialize`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "admin", password, email: "admin@example.com", access_token: true }),
    });
    const body = (await res.json()) as { access_token?: string; error_message?: string };
    if (res.status === 400 && /non-empty/.test(body.error_message ?? "")) {
      // npm start bootstrapped the admin: the tests using this server bring their own credentials.
      return {
        adminToken: "",
        userFor: async () => Promise.reject(new Error("no test identities: the registry bootstrapped its own admin")),
      };
    }
    if (res.status !== 200 || !body.access_token) throw new Error(`initialize: ${res.status} ${JSON.stringify(body)}`);
    saved.adminToken = body.access_token;
    saved.users.admin = password;
    await save();
  }
  const pending = new Map<string, Promise<Credentials>>();
  const userFor = (namespace: string): Promise<Credentials> => {
    let made = pending.get(namespace);
    if (!made) {
      made = (async () => {
        if (!saved.users[namespace]) {
          const res = await fetch(`${url}/api/v1/superuser/users/`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${saved.adminToken}` },
            body: JSON.stringify({ username: namespace, email: `${namespace}@example.com` }),
          });
          const body = (await res.json()) as { password?: string };
          if (res.status !== 200 || !body.password)
            throw new Error(`create user ${namespace}: ${res.status} ${JSON.stringify(body)}`);
          saved.users[namespace] = body.password;
          await save();
        }
        return { username: namespace, password: saved.users[namespace]! };
      })();
      pending.set(namespace, made);
    }
    return made;
  };
  return { adminToken: saved.adminToken, userFor };
}
