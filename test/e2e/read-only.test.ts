/**
 * Issue #19's configuration through `npm start`, with real clients:
 * - `REGISTRY_STATE=readonly npm start` on the state a normal run left: `skopeo copy` into it is
 *   refused with Quay's words ("System is currently read-only…"), and pulling what is there works;
 * - the web UI signs in and shows Quay's read-only banner;
 * - a bad value stops `npm start` before anything is built or served, naming the key and value.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage, signIn } from "./helpers/browser";
import { login, registryHost, skopeo, skopeoCopy } from "./helpers/clients";
import { buildImageLayout } from "./helpers/oci-layout";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { freePort, ROOT, type RunningServer, startWharf } from "./helpers/server";

const READ_ONLY = "System is currently read-only. Pulls will succeed but all write operations are currently suspended.";

let work: string;
let wharf: RunningServer;
let host: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "wharf-readonly-e2e-"));
  const normal = await startWharf();
  let stateDir: string;
  try {
    host = registryHost(normal.url);
    const owner = await normal.credentialsFor("frozen");
    await pushOneLayerImage(normal.url, host, owner, "frozen/app", "v1");
    stateDir = normal.stateDir;
  } finally {
    await normal.stop({ keepState: true });
  }
  wharf = await startWharf({ stateDir, env: { REGISTRY_STATE: "readonly" } });
  host = registryHost(wharf.url);
  await login(host, await wharf.credentialsFor("frozen"), path.join(work, "auth.json"), "skopeo");
}, 240_000);

afterAll(async () => {
  await wharf?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("REGISTRY_STATE=readonly npm start", () => {
  it("refuses a push by skopeo with Quay's message", async () => {
    const layout = path.join(work, "layout");
    await buildImageLayout(layout, "v2");
    const push = skopeoCopy(`oci:${layout}:v2`, `docker://${host}/frozen/app:v2`);
    await expect(push).rejects.toThrow(READ_ONLY);
  });

  it("serves a pull by skopeo", async () => {
    const into = path.join(work, "pulled");
    await skopeoCopy(`docker://${host}/frozen/app:v1`, `oci:${into}:v1`);
    const tags = await skopeo(["list-tags", "--tls-verify=false", `docker://${host}/frozen/app`]);
    expect(JSON.parse(tags.stdout.toString("utf8")).Tags).toEqual(["v1"]);
  });
});

describe("the web UI of a read-only registry", () => {
  it("signs in (Quay allows it) and shows Quay's read-only banner", async () => {
    const browser = await launchBrowser();
    try {
      const user = await wharf.credentialsFor("frozen");
      const watched = await openPage(browser, wharf.url);
      await signIn(watched.page, user.username, user.password);
      const banner = watched.page.locator('[data-severity="readonly"]');
      await banner.waitFor();
      expect(await banner.textContent()).toContain(
        "is currently in read-only mode. Pulls and other read-only operations will succeed",
      );
      watched.clean();
      await watched.close();
    } finally {
      await browser.close();
    }
  });
});

describe("npm start with a bad value", () => {
  it("refuses to start, naming the key and the value", async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "wharf-badconfig-e2e-"));
    const proc = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs")], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(await freePort()), WHARF_STATE_DIR: stateDir, REGISTRY_STATE: "paused" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let said = "";
    for (const stream of [proc.stdout, proc.stderr]) stream.on("data", (d: Buffer) => (said += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on("close", resolve));
    await rm(stateDir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(said).toContain('wharf: environment REGISTRY_STATE: expected "normal" or "readonly": "paused"');
    expect(said).toContain("refusing to start");
    expect(said).not.toContain("registry ready");
  }, 60_000);
});
