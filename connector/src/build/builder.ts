/**
 * The image builder this host has: buildah (`buildah bud`) or podman (`podman build`), run with
 * chroot isolation (no runc, no extra privileges: what works in an unprivileged container or as
 * a plain user) and a private storage directory per job (vfs by default: no kernel overlay
 * support needed). A per-job store means no cache between builds, as Quay's ephemeral builders,
 * and a cleanup that cannot miss anything: the directory goes.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { type ChildOptions, runChecked, runChild } from "../child";

export type BuilderName = "buildah" | "podman";

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

  /** Global options pointing the builder at the job's own store under `storeDir`. */
  private globalArgs(storeDir: string): string[] {
    const args = [
      "--storage-driver",
      this.storageDriver,
      "--root",
      path.join(storeDir, "root"),
      "--runroot",
      path.join(storeDir, "run"),
    ];
    if (this.name === "podman") args.push("--cgroup-manager", "cgroupfs", "--events-backend", "file");
    return args;
  }

  private env(storeDir: string): Record<string, string> {
    // Large blobs are staged in TMPDIR (/var/tmp by default): kept in the job's directory instead.
    return { TMPDIR: path.join(storeDir, "tmp"), BUILDAH_ISOLATION: "chroot" };
  }

  async build(
    storeDir: string,
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
        ...this.globalArgs(storeDir),
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
      { ...options, cwd: request.context, env: this.env(storeDir), label: `${this.name} ${verb}` },
    );
  }

  async push(
    storeDir: string,
    request: { image: string; destination: string; authFile: string; digestFile: string; tlsVerify: boolean },
    options: ChildOptions,
  ): Promise<void> {
    await runChecked(
      this.name,
      [
        ...this.globalArgs(storeDir),
        "push",
        "--authfile",
        request.authFile,
        `--tls-verify=${request.tlsVerify}`,
        "--digestfile",
        request.digestFile,
        request.image,
        `docker://${request.destination}`,
      ],
      { ...options, env: this.env(storeDir), label: `${this.name} push` },
    );
  }

  /** Removes the job's images and store; vfs layers of an unprivileged builder need its user namespace to go. */
  async cleanUp(storeDir: string): Promise<void> {
    await runChild(this.name, [...this.globalArgs(storeDir), "rmi", "--all", "--force"], {
      env: this.env(storeDir),
    }).catch(() => null);
    try {
      await rm(storeDir, { recursive: true, force: true });
    } catch {
      await runChild(this.name, ["unshare", "rm", "-rf", storeDir]).catch(() => null);
    }
  }
}
