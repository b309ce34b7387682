/**
 * Running the README's shell blocks as a newcomer pastes them (readme-quick-start.test.ts,
 * readme-connector.test.ts): the block after a marker, unchanged, in bash, against a fresh
 * `npm start`. Only where the clients keep their state differs from a newcomer's machine: podman's
 * store, configuration and login file, HOME and the temporary directory are private to the test.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ROOT, type RunningServer, startWharf } from "./server";
import { openLog } from "./test-logs";

/** The first ```sh block after `marker` in README.md, as the file holds it. */
export async function readmeBlock(marker: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker} marker before its block`);
  const block = readme.slice(at).match(/^```sh\n([\s\S]*?)^```$/m);
  if (!block) throw new Error(`no \`\`\`sh block after the ${marker} marker`);
  return block[1]!;
}

/**
 * The environment a block runs with: PATH, the superuser's password and the server's port as the
 * README says, and podman's state, HOME and TMPDIR private to `tmp` (written there now).
 */
export async function newcomerEnv(tmp: string, port: string, password: string): Promise<Record<string, string>> {
  const home = path.join(tmp, "home");
  await mkdir(home, { recursive: true });
  await writeFile(
    path.join(tmp, "storage.conf"),
    `[storage]\ndriver = "vfs"\ngraphroot = "${tmp}/store"\nrunroot = "${tmp}/run"\n`,
  );
  await writeFile(path.join(tmp, "containers.conf"), `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n`);
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LC_ALL: "C",
    HOME: home,
    TMPDIR: tmp,
    PORT: port,
    WHARF_ADMIN_PASSWORD: password,
    CONTAINERS_STORAGE_CONF: path.join(tmp, "storage.conf"),
    CONTAINERS_CONF: path.join(tmp, "containers.conf"),
    REGISTRY_AUTH_FILE: path.join(tmp, "auth.json"),
  };
}

/**
 * Runs `script` in bash (-e: the first failing command fails the run) in `cwd` with `env`, in its
 * own process group, which is killed at the end or after `timeoutMs`: a run that failed half-way
 * leaves nothing it started (a connector) behind.
 */
export function runBash(script: string, cwd: string, env: Record<string, string>, timeoutMs = 170_000) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(killGroup, timeoutMs);
    let output = "";
    // Kept for the secret scan of `npm test` (./test-logs.ts), as every registry's output is.
    const log = openLog("readme-block");
    const keep = (d: Buffer) => {
      output += d.toString();
      log.write(d);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("exit", (code) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, output });
    });
  });
}

/** A fresh `npm start` as a newcomer's first one: the superuser bootstrapped, its printed password. */
export interface Newcomer {
  server: RunningServer;
  /** A private directory for the block's state (see {@link newcomerEnv}). */
  tmp: string;
  /** The password `npm start` printed ("" when it printed none: the test says so). */
  password: string;
  stop(): Promise<void>;
}

export async function startAsNewcomer(prefix: string): Promise<Newcomer> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const server = await startWharf({ env: { WHARF_BOOTSTRAP_ADMIN: "true", WHARF_ADMIN_PASSWORD: "" } });
  const password = server.output().match(/superuser admin created, password: (\S+)/)?.[1] ?? "";
  return {
    server,
    tmp,
    password,
    async stop() {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
