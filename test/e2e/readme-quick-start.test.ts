/**
 * The README's quick start, run as a newcomer pastes it: the fenced block after the
 * `<!-- quick-start` marker in README.md, unchanged, in bash, against a fresh `npm start` whose
 * printed password goes into WHARF_ADMIN_PASSWORD (and its port into PORT), as the README says.
 * Only where the clients keep their state differs from a newcomer's machine: podman's store, its
 * configuration and the login file are private to the test (CONTAINERS_STORAGE_CONF,
 * CONTAINERS_CONF, REGISTRY_AUTH_FILE, HOME), so the test leaves nothing behind.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layerFiles } from "./helpers/oci-layout";
import { type Newcomer, newcomerEnv, readmeBlock, runBash, startAsNewcomer } from "./helpers/readme-blocks";

const MARKER = "<!-- quick-start";

let newcomer: Newcomer;

// As a newcomer runs it: npm start bootstraps the superuser and prints its password.
beforeAll(async () => {
  newcomer = await startAsNewcomer("wharf-quick-start-");
}, 180_000);
afterAll(() => newcomer?.stop());

describe("the README's quick start", () => {
  it("logs in with the printed password, pushes into admin's namespace and pulls the image back, as written", async () => {
    const { server, tmp, password } = newcomer;
    expect(password, `npm start printed no password:\n${server.output()}`).not.toBe("");
    const block = await readmeBlock(MARKER);
    const cwd = path.join(tmp, "work");
    await mkdir(cwd, { recursive: true });
    const port = new URL(server.url).port;
    const run = await runBash(block, cwd, await newcomerEnv(tmp, port, password));
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
