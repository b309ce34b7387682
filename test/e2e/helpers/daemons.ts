/**
 * The Docker engine and containerd as the end-to-end tests drive them: each daemon started by the
 * test in a private temporary directory (its own socket, data root, state and client
 * configuration, so nothing on the machine is used or changed), run without containers (no
 * bridge, no iptables, vfs or native storage), and stopped, its directory removed, afterwards.
 * Debian's packages: docker.io (dockerd in /usr/sbin, the CLI in /usr/bin) and containerd.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { run, type RunOptions, type RunResult } from "./clients";

/** Debian's docker CLI (another `docker` earlier in PATH, e.g. in /usr/local/bin, is not the one tested). */
export const DOCKER_CLI = "/usr/bin/docker";
const DOCKERD = ["/usr/bin/dockerd", "/usr/sbin/dockerd"].find((p) => existsSync(p)) ?? "dockerd";

/** A daemon process this test started, with its log in `dir`. */
abstract class Daemon {
  protected constructor(
    readonly dir: string,
    protected readonly proc: ChildProcess,
    private readonly name: string,
  ) {}

  protected static spawnDaemon(command: string, args: string[], dir: string): ChildProcess {
    const log = openSync(path.join(dir, "daemon.log"), "a");
    return spawn(command, args, { stdio: ["ignore", log, log], env: { ...process.env, LC_ALL: "C" } });
  }

  /** The daemon's log so far (the last 4,000 characters), for failure messages. */
  log(): string {
    try {
      return readFileSync(path.join(this.dir, "daemon.log"), "utf8").slice(-4000);
    } catch {
      return "";
    }
  }

  /**
   * Polls `ready` until it resolves, failing early if the daemon exits; a daemon that never gets
   * ready is stopped (and its directory removed) before the failure is thrown.
   */
  protected async waitUntil(ready: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let failure: Error | null = null;
      if (this.proc.exitCode !== null)
        failure = new Error(`${this.name} exited with ${this.proc.exitCode}\n${this.log()}`);
      else {
        try {
          await ready();
          return;
        } catch (err) {
          if (Date.now() > deadline)
            failure = new Error(
              `${this.name} not ready within ${timeoutMs} ms: ${(err as Error).message}\n${this.log()}`,
            );
        }
      }
      if (failure) {
        await this.stop();
        throw failure;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops the daemon (SIGTERM, then SIGKILL after 30 s) and removes its directory. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await this.cleanUp();
    await rm(this.dir, { recursive: true, force: true });
  }

  protected async cleanUp(): Promise<void> {}
}

/**
 * `dockerd` with its own socket, data root and exec root; the CLI with its own `DOCKER_CONFIG`
 * (where `docker login` keeps credentials). Registries on 127.0.0.0/8 are insecure (plain HTTP)
 * by dockerd's default, so the local registry needs no flag. The classic builder builds (no
 * BuildKit, which would want a network for its frontend image).
 */
export class DockerEngine extends Daemon {
  static async start(): Promise<DockerEngine> {
    // Short: the socket's path must fit a sockaddr_un (108 bytes).
    const dir = await mkdtemp(path.join(os.tmpdir(), "wharf-dockerd-"));
    const args = [
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      "--storage-driver=vfs",
      `--data-root=${path.join(dir, "root")}`,
      `--exec-root=${path.join(dir, "exec")}`,
      `--host=unix://${path.join(dir, "docker.sock")}`,
      `--pidfile=${path.join(dir, "dockerd.pid")}`,
    ];
    const engine = new DockerEngine(dir, Daemon.spawnDaemon(DOCKERD, args, dir));
    await engine.waitUntil(() => engine.docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 10_000 }));
    return engine;
  }

  private constructor(dir: string, proc: ChildProcess) {
    super(dir, proc, "dockerd");
  }

  /**
   * dockerd bind-mounts its data root onto itself and unmounts it when it stops; after a SIGKILL
   * the mount would stay, and removing the directory would fail under it.
   */
  protected override async cleanUp(): Promise<void> {
    const root = path.join(this.dir, "root");
    if (readFileSync("/proc/self/mountinfo", "utf8").includes(` ${root} `))
      await run("umount", ["--lazy", root]).catch(() => undefined);
  }

  /** The environment every CLI call runs with. */
  get env(): Record<string, string> {
    return {
      DOCKER_HOST: `unix://${path.join(this.dir, "docker.sock")}`,
      DOCKER_CONFIG: path.join(this.dir, "config"),
      DOCKER_BUILDKIT: "0",
      // `docker manifest` is experimental on older clients.
      DOCKER_CLI_EXPERIMENTAL: "enabled",
    };
  }

  /** The credentials `docker login` stored, by registry host (the CLI's config.json). */
  storedLogins(): Record<string, unknown> {
    const file = path.join(this.dir, "config", "config.json");
    return existsSync(file)
      ? ((JSON.parse(readFileSync(file, "utf8")) as { auths?: Record<string, unknown> }).auths ?? {})
      : {};
  }

  /** `docker args…`; rejects with its output when it fails. */
  docker(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return run(DOCKER_CLI, args, { ...options, env: { ...this.env, ...options.env } });
  }

  /** The combined output of a successful `docker args…`. */
  async text(args: string[], options: RunOptions = {}): Promise<string> {
    const { stdout, stderr } = await this.docker(args, options);
    return `${stdout.toString("utf8")}${stderr}`;
  }

  /** `docker login`, the password on stdin. */
  async login(host: string, credentials: { username: string; password: string }): Promise<void> {
    await this.docker(["login", "--username", credentials.username, "--password-stdin", host], {
      input: credentials.password,
    });
  }

  /** `docker build` of `contextDir` (its Dockerfile) into `tag`; returns the image id. */
  async build(contextDir: string, tag: string): Promise<string> {
    return (await this.docker(["build", "--quiet", "--tag", tag, contextDir], { timeoutMs: 300_000 })).stdout
      .toString("utf8")
      .trim();
  }

  /** `docker push`; returns the pushed manifest's digest and the push's output. */
  async push(ref: string): Promise<{ digest: string; output: string }> {
    const output = await this.text(["push", ref], { timeoutMs: 300_000 });
    const digest = output.match(/digest: (sha256:[0-9a-f]{64})/)?.[1];
    if (!digest) throw new Error(`docker push ${ref}: no digest in\n${output}`);
    return { digest, output };
  }

  /** The image's id (its config digest). */
  async imageId(ref: string): Promise<string> {
    return (await this.text(["image", "inspect", "--format", "{{.Id}}", ref])).trim();
  }
}

/**
 * `containerd` with a private configuration (root, state and sockets in its directory; the CRI
 * plugin off), and `ctr` pointed at its socket. Images unpack with the native snapshotter, which
 * needs no mounts.
 */
export class Containerd extends Daemon {
  static async start(): Promise<Containerd> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wharf-ctrd-"));
    const config = [
      "version = 2",
      `root = "${path.join(dir, "root")}"`,
      `state = "${path.join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${path.join(dir, "containerd.sock")}"`,
      "[ttrpc]",
      `  address = "${path.join(dir, "containerd.sock.ttrpc")}"`,
      "[debug]",
      `  address = "${path.join(dir, "debug.sock")}"`,
      "",
    ].join("\n");
    await writeFile(path.join(dir, "config.toml"), config);
    const daemon = new Containerd(
      dir,
      Daemon.spawnDaemon("containerd", ["--config", path.join(dir, "config.toml")], dir),
    );
    await daemon.waitUntil(() => daemon.ctr(["version"], { timeoutMs: 10_000 }));
    return daemon;
  }

  private constructor(dir: string, proc: ChildProcess) {
    super(dir, proc, "containerd");
  }

  /** `ctr args…` against this containerd; rejects with its output when it fails. */
  ctr(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return run("ctr", ["--address", path.join(this.dir, "containerd.sock"), ...args], options);
  }
}
