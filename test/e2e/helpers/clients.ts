/**
 * Thin wrappers around the real clients (skopeo, podman, buildah) as the e2e tests drive them:
 * plain HTTP to the local registry (--tls-verify=false), vfs storage in a private directory per
 * test, no containers run. Each call has a timeout and throws with the client's stderr on failure.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  /** Variables added to this process's environment for the command. */
  env?: Record<string, string>;
  /** Written to the command's stdin (a password, never on the command line). */
  input?: string;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `command args…`; rejects with the command line, exit status and stderr if it fails. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    const running = execFileAsync(command, args, {
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      killSignal: "SIGKILL",
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, LC_ALL: "C", ...options.env },
    });
    if (options.input !== undefined) running.child.stdin?.end(options.input);
    const { stdout, stderr } = await running;
    return { stdout, stderr: stderr.toString("utf8") };
  } catch (err) {
    const e = err as Error & {
      code?: number | string;
      signal?: string;
      stdout?: Buffer;
      stderr?: Buffer;
      killed?: boolean;
    };
    const why = e.killed ? `killed (${e.signal}) after timeout` : `exit ${e.code ?? e.signal}`;
    const said = `${e.stdout?.toString("utf8").slice(-2000) ?? ""}${e.stderr?.toString("utf8") ?? e.message}`;
    throw new Error(`${command} ${args.join(" ")}: ${why}\n${said}`);
  }
}

/**
 * `podman login` (or `skopeo login`) into `authFile`, the password on stdin (never on a command
 * line), then points every later skopeo, podman and buildah run of this process at that file
 * (REGISTRY_AUTH_FILE), as a user who logged in once would have it.
 */
export async function login(
  host: string,
  credentials: { username: string; password: string },
  authFile: string,
  client: "podman" | "skopeo" = "podman",
): Promise<void> {
  const args = [
    "login",
    "--tls-verify=false",
    "--authfile",
    authFile,
    "--username",
    credentials.username,
    "--password-stdin",
    host,
  ];
  const status = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(client, args, { env: { ...process.env, LC_ALL: "C" }, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("close", (code) => resolve({ code, stderr }));
    child.stdin.end(credentials.password);
  });
  if (status.code !== 0) throw new Error(`${client} ${args.join(" ")}: exit ${status.code}\n${status.stderr}`);
  process.env.REGISTRY_AUTH_FILE = authFile;
}

/** `host:port` of a registry URL, as skopeo's docker:// and podman's image names want it. */
export function registryHost(url: string): string {
  return new URL(url).host;
}

// ---------------------------------------------------------------------------------------------
// skopeo

export function skopeo(args: string[], options?: RunOptions): Promise<RunResult> {
  return run("skopeo", args, options);
}

/** `skopeo copy` with TLS verification off on both ends; `all` copies an index with its children. */
export async function skopeoCopy(
  src: string,
  dest: string,
  options: { all?: boolean } & RunOptions = {},
): Promise<void> {
  const args = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false"];
  if (options.all) args.push("--all");
  await skopeo([...args, src, dest], options);
}

/** The manifest bytes exactly as the registry serves them (`skopeo inspect --raw`). */
export async function skopeoInspectRaw(ref: string): Promise<Buffer> {
  return (await skopeo(["inspect", "--raw", "--tls-verify=false", ref])).stdout;
}

/** `skopeo inspect` (the image's config summary) as JSON. */
export async function skopeoInspect(ref: string): Promise<Record<string, any>> {
  return JSON.parse((await skopeo(["inspect", "--tls-verify=false", ref])).stdout.toString("utf8"));
}

// ---------------------------------------------------------------------------------------------
// podman and buildah: a private store per instance

abstract class StoreClient {
  protected constructor(
    readonly command: string,
    readonly dir: string,
  ) {}

  protected globalArgs(): string[] {
    return [
      "--storage-driver",
      "vfs",
      "--root",
      path.join(this.dir, "root"),
      "--runroot",
      path.join(this.dir, "runroot"),
    ];
  }

  run(args: string[], options?: RunOptions): Promise<RunResult> {
    return run(this.command, [...this.globalArgs(), ...args], options);
  }

  async text(args: string[], options?: RunOptions): Promise<string> {
    return (await this.run(args, options)).stdout.toString("utf8").trim();
  }

  /** Removes the store; vfs layers are plain directories. */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export class Podman extends StoreClient {
  private constructor(dir: string) {
    super("podman", dir);
  }

  static async create(): Promise<Podman> {
    return new Podman(await mkdtemp(path.join(os.tmpdir(), "wharf-podman-")));
  }

  protected override globalArgs(): string[] {
    return [...super.globalArgs(), "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--tmpdir", this.dir];
  }

  pull(ref: string): Promise<string> {
    return this.text(["pull", "--quiet", "--tls-verify=false", ref]);
  }

  async tag(source: string, target: string): Promise<void> {
    await this.run(["tag", source, target]);
  }

  async push(ref: string): Promise<void> {
    await this.run(["push", "--tls-verify=false", ref]);
  }

  async rmi(ref: string): Promise<void> {
    await this.run(["rmi", "--force", ref]);
  }

  /** The image's id (its config digest, hex). */
  imageId(ref: string): Promise<string> {
    return this.text(["image", "inspect", "--format", "{{.Id}}", ref]);
  }
}

export class Buildah extends StoreClient {
  private constructor(dir: string) {
    super("buildah", dir);
  }

  static async create(): Promise<Buildah> {
    return new Buildah(await mkdtemp(path.join(os.tmpdir(), "wharf-buildah-")));
  }

  /** `buildah bud` of `contextDir` (its Dockerfile) into `tag`, chroot isolation. */
  async build(contextDir: string, tag: string): Promise<void> {
    await this.run(["bud", "--isolation", "chroot", "--layers=false", "-t", tag, contextDir], { cwd: contextDir });
  }

  async push(ref: string): Promise<void> {
    await this.run(["push", "--tls-verify=false", ref]);
  }
}
