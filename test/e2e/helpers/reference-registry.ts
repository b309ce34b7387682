/**
 * Starts Debian's `docker-registry` (CNCF distribution 2.8, the reference implementation of the
 * Docker Registry HTTP API V2) on a free loopback port with filesystem storage in a temp
 * directory and deletes enabled, for differential tests against Wharf.
 */
import { spawn } from "node:child_process";
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

export async function startReferenceRegistry(): Promise<ReferenceRegistry> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "wharf-reference-registry-"));
  const config = path.join(dir, "config.yml");
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
      "log:",
      "  level: error",
      "",
    ].join("\n"),
  );
  const logs: string[] = [];
  const proc = spawn(REFERENCE_REGISTRY_BIN, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
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
    if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  } catch (err) {
    await stop();
    throw new Error(`docker-registry did not start: ${(err as Error).message}\n${logs.join("").slice(-4000)}`);
  }
  return { url, pid: proc.pid!, stop };
}
