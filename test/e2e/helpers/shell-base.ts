/**
 * A base image holding only `sh`, `sleep` and their libraries (no registry outside the machine is
 * reachable), built from scratch with buildah and pushed to a Wharf: what a `RUN sleep` build of
 * the connector's tests starts from.
 */
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { run } from "./clients";
import type { Credentials } from "./registry-auth";

/** Builds the base in a private buildah store under `tmp` and pushes it as `image` with `creds`. */
export async function pushShellBase(image: string, creds: Credentials, tmp: string): Promise<void> {
  const store = await mkdtemp(path.join(tmp, "store-"));
  const b = (args: string[]) =>
    run("buildah", ["--storage-driver", "vfs", "--root", `${store}/root`, "--runroot", `${store}/run`, ...args]);
  try {
    const ctr = (await b(["from", "scratch"])).stdout.toString("utf8").trim();
    const files = new Set(["/bin/sh", "/bin/sleep"]);
    for (const bin of ["/bin/sh", "/bin/sleep"]) {
      const ldd = (await run("ldd", [bin])).stdout.toString("utf8");
      for (const m of ldd.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) files.add(m[1]!);
    }
    for (const file of files) await b(["copy", ctr, file, file]);
    await b(["commit", "-q", ctr, "localhost/shbase"]);
    await b([
      "push",
      "--tls-verify=false",
      "--creds",
      `${creds.username}:${creds.password}`,
      "localhost/shbase",
      `docker://${image}`,
    ]);
  } finally {
    await rm(store, { recursive: true, force: true }).catch(() => undefined);
  }
}
