/**
 * The README's quick start, run as a newcomer pastes it: the fenced block after the
 * `<!-- quick-start` marker in README.md, unchanged, in bash, against a fresh `npm start` whose
 * printed password goes into WHARF_ADMIN_PASSWORD (and its port into PORT), as the README says.
 * Only where the clients keep their state differs from a newcomer's machine: podman's store, its
 * configuration and the login file are private to the test (CONTAINERS_STORAGE_CONF,
 * CONTAINERS_CONF, REGISTRY_AUTH_FILE, HOME), so the test leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layerFiles } from "./helpers/oci-layout";
import { ROOT, startWharf, type RunningServer } from "./helpers/server";

const MARKER = "<!-- quick-start";

/** The first ```sh block after the marker, as README.md holds it. */
function quickStartBlock(readme: string): string {
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no ${MARKER} marker before its quick-start block`);
  const block = readme.slice(at).match(/^```sh\n([\s\S]*?)^```$/m);
  if (!block) throw new Error("no ```sh block after the quick-start marker");
  return block[1]!;
}

let server: RunningServer;
let tmp: string;
let password: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-quick-start-"));
  // As a newcomer runs it: npm start bootstraps the superuser and prints its password.
  server = await startWharf({ env: { WHARF_BOOTSTRAP_ADMIN: "true", WHARF_ADMIN_PASSWORD: "" } });
  password = server.output().match(/superuser admin created, password: (\S+)/)?.[1] ?? "";
}, 180_000);
afterAll(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs `script` in bash (-e: the first failing command fails the run) in `cwd` with `env`. */
function bash(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the README's quick start", () => {
  it("logs in with the printed password, pushes into admin's namespace and pulls the image back, as written", async () => {
    expect(password, `npm start printed no password:\n${server.output()}`).not.toBe("");
    const block = quickStartBlock(await readFile(path.join(ROOT, "README.md"), "utf8"));
    const home = path.join(tmp, "home");
    const cwd = path.join(tmp, "work");
    await mkdir(home, { recursive: true });
    await mkdir(cwd, { recursive: true });
    await writeFile(
      path.join(tmp, "storage.conf"),
      `[storage]\ndriver = "vfs"\ngraphroot = "${tmp}/store"\nrunroot = "${tmp}/run"\n`,
    );
    await writeFile(
      path.join(tmp, "containers.conf"),
      `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n`,
    );
    const port = new URL(server.url).port;
    const run = await bash(block, cwd, {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      LC_ALL: "C",
      HOME: home,
      TMPDIR: tmp,
      PORT: port,
      WHARF_ADMIN_PASSWORD: password,
      CONTAINERS_STORAGE_CONF: path.join(tmp, "storage.conf"),
      CONTAINERS_CONF: path.join(tmp, "containers.conf"),
      REGISTRY_AUTH_FILE: path.join(tmp, "auth.json"),
    });
    expect(run.code, `the quick start failed:\n${block}\n--- output ---\n${run.output}`).toBe(0);

    // The image is in the registry, in admin's namespace, holding the file the block wrote.
    const auth = await fetch(`${server.url}/v2/auth?service=127.0.0.1:${port}&scope=repository:admin/hello:pull`, {
      headers: { Authorization: `Basic ${btoa(`admin:${password}`)}` },
    });
    const { token } = (await auth.json()) as { token: string };
    const manifest = await fetch(`${server.url}/v2/admin/hello/manifests/1`, {
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    expect(manifest.status).toBe(200);
    const { layers } = (await manifest.json()) as { layers: { digest: string }[] };
    const files = new Map<string, Buffer>();
    for (const layer of layers) {
      const blob = await fetch(`${server.url}/v2/admin/hello/blobs/${layer.digest}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      for (const [name, content] of layerFiles(new Uint8Array(await blob.arrayBuffer()))) files.set(name, content);
    }
    expect(
      [...files.keys()].some((name) => name.endsWith("hello.txt")),
      [...files.keys()].join(", "),
    ).toBe(true);
    // The block pulled it back: the pull's output names the image it stored.
    expect(run.output).toMatch(/Trying to pull localhost:\d+\/admin\/hello:1/);
  });
});
