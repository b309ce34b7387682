/**
 * Starts Debian's `docker-registry` (CNCF distribution 2.8, the reference implementation of the
 * Docker Registry HTTP API V2) on a free loopback port with filesystem storage in a temp
 * directory and deletes enabled, for differential tests against Wharf, and as an upstream of the
 * proxy cache and mirroring (helpers/upstream-registries.ts), optionally with HTTP Basic auth
 * (distribution's `htpasswd` auth, which works over plain http), or as a pull-through cache of
 * another registry (distribution's `proxy` section: the bench's reference for proxy-cache
 * organizations).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort, waitForHttp } from "./server";

export const REFERENCE_REGISTRY_BIN = "/usr/bin/docker-registry";

export interface ReferenceRegistry {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface ReferenceRegistryOptions {
  /** The one account of an `htpasswd`-protected registry (HTTP Basic); none: anyone may pull and push. */
  htpasswd?: { username: string; password: string };
  /**
   * A pull-through cache of the registry at `remoteurl` (anonymous pulls): distribution fetches
   * what it lacks from there, stores it and serves it, and refuses pushes.
   */
  proxy?: { remoteurl: string };
}

export async function startReferenceRegistry(options: ReferenceRegistryOptions = {}): Promise<ReferenceRegistry> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "wharf-reference-registry-"));
  const config = path.join(dir, "config.yml");
  const auth: string[] = [];
  if (options.htpasswd) {
    const file = path.join(dir, "htpasswd");
    await writeFile(file, `${options.htpasswd.username}:${await bcryptHash(options.htpasswd.password)}\n`);
    auth.push("auth:", "  htpasswd:", "    realm: upstream", `    path: ${file}`);
  }
  const proxy = options.proxy ? ["proxy:", `  remoteurl: ${options.proxy.remoteurl}`] : [];
  await writeFile(
    config,
    [
      "version: 0.1",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${path.join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      ...auth,
      ...proxy,
      "log:",
      "  level: error",
      "",
    ].join("\n"),
  );
  const logs: string[] = [];
  // distribution reads REGISTRY_<SECTION>_<KEY> variables as configuration: podman's and
  // skopeo's REGISTRY_AUTH_FILE (set once a client logged in) would be taken for `auth: file:`.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("REGISTRY_")));
  const proc = spawn(REFERENCE_REGISTRY_BIN, ["serve", config], { stdio: ["ignore", "pipe", "pipe"], env });
  for (const stream of [proc.stdout!, proc.stderr!]) stream.on("data", (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));

  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, 30_000, proc);
    const res = await fetch(`${url}/v2/`);
    await res.arrayBuffer();
    const expected = options.htpasswd ? 401 : 200;
    if (res.status !== expected) throw new Error(`GET /v2/ answered ${res.status}`);
  } catch (err) {
    await stop();
    throw new Error(`docker-registry did not start: ${(err as Error).message}\n${logs.join("").slice(-4000)}`);
  }
  return { url, pid: proc.pid!, stop };
}

/**
 * A bcrypt hash of `password` for distribution's htpasswd file (Go's bcrypt reads `$2b$`), made by
 * Python's `crypt` through the C library, the password on stdin: Node has no bcrypt, and the
 * system has no `htpasswd`.
 */
function bcryptHash(password: string): Promise<string> {
  const script = "import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH)))";
  return new Promise((resolve, reject) => {
    const child = execFile("python3", ["-W", "ignore", "-c", script], (err, stdout) => {
      const hash = stdout.trim();
      if (err || !hash.startsWith("$2")) reject(new Error(`bcrypt hash: ${err?.message ?? hash}`));
      else resolve(hash);
    });
    child.stdin?.end(password);
  });
}
