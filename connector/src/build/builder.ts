/**
 * The image builder this host has: buildah (`buildah bud`) or podman (`podman build`), run with
 * chroot isolation (no runc, no extra privileges: what works in an unprivileged container or as
 * a plain user) and a private storage directory per job (vfs by default: no kernel overlay
 * support needed). A per-job store means no cache between builds, as Quay's ephemeral builders,
 * and a cleanup that cannot miss anything: the directory goes.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type ChildOptions, runChecked, runChild } from "../child";

export type BuilderName = "buildah" | "podman";

/** A job's image store: its layers under the job's directory, its run state in a short path. */
export interface Store {
  root: string;
  /** podman refuses a runroot longer than 50 characters: kept under the system's temp directory. */
  runRoot: string;
  tmp: string;
}

export class Builder {
  constructor(
    readonly name: BuilderName,
    private readonly storageDriver: string,
  ) {}

  /** The builder asked for (or, with `auto`, the first installed), or null when there is none. */
  static async detect(choice: "buildah" | "podman" | "auto" | "none", storageDriver: string): Promise<Builder | null> {
    if (choice === "none") return null;
    for (const name of choice === "auto" ? (["buildah", "podman"] as const) : [choice]) {
      const probe = await runChild(name, ["--version"]).catch(() => null);
      if (probe?.code === 0) return new Builder(name, storageDriver);
    }
    return null;
  }

  /** A fresh store for one job, under `jobDir`. */
  async createStore(jobDir: string): Promise<Store> {
    const store = {
      root: path.join(jobDir, "store"),
      runRoot: await mkdtemp(path.join(os.tmpdir(), "wcr-")),
      tmp: path.join(jobDir, "tmp"),
    };
    await mkdir(store.root, { recursive: true });
    await mkdir(store.tmp, { recursive: true });
    return store;
  }

  /** Global options pointing the builder at the job's own store. */
  private globalArgs(store: Store): string[] {
    const args = ["--storage-driver", this.storageDriver, "--root", store.root, "--runroot", store.runRoot];
    if (this.name === "podman") args.push("--cgroup-manager", "cgroupfs", "--events-backend", "file");
    return args;
  }

  private env(store: Store): Record<string, string> {
    // Large blobs are staged in TMPDIR (/var/tmp by default): kept in the job's directory instead.
    return { TMPDIR: store.tmp, BUILDAH_ISOLATION: "chroot" };
  }

  async build(
    store: Store,
    request: {
      dockerfile: string;
      context: string;
      image: string;
      authFile: string;
      iidFile: string;
      tlsVerify: boolean;
    },
    options: ChildOptions,
  ): Promise<void> {
    const verb = this.name === "buildah" ? "bud" : "build";
    await runChecked(
      this.name,
      [
        ...this.globalArgs(store),
        verb,
        "--isolation",
        "chroot",
        "--layers=false",
        "--authfile",
        request.authFile,
        `--tls-verify=${request.tlsVerify}`,
        "--iidfile",
        request.iidFile,
        "-f",
        request.dockerfile,
        "-t",
        request.image,
        request.context,
      ],
      { ...options, cwd: request.context, env: this.env(store), label: `${this.name} ${verb}` },
    );
  }

  async push(
    store: Store,
    request: { image: string; destination: string; authFile: string; digestFile: string; tlsVerify: boolean },
    options: ChildOptions,
  ): Promise<void> {
    await runChecked(
      this.name,
      [
        ...this.globalArgs(store),
        "push",
        "--authfile",
        request.authFile,
        `--tls-verify=${request.tlsVerify}`,
        "--digestfile",
        request.digestFile,
        request.image,
        `docker://${request.destination}`,
      ],
      { ...options, env: this.env(store), label: `${this.name} push` },
    );
  }

  /** Removes the job's images and store; vfs layers of an unprivileged builder need its user namespace to go. */
  async cleanUp(store: Store): Promise<void> {
    await runChild(this.name, [...this.globalArgs(store), "rmi", "--all", "--force"], {
      env: this.env(store),
    }).catch(() => null);
    for (const dir of [store.root, store.runRoot, store.tmp]) {
      try {
        await rm(dir, { recursive: true, force: true });
      } catch {
        await runChild(this.name, ["unshare", "rm", "-rf", dir]).catch(() => null);
      }
    }
  }
}
