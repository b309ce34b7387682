/**
 * The README's connector walkthrough, run as a newcomer pastes it: the fenced block after the
 * `<!-- connector-walkthrough` marker in README.md, unchanged, in bash, in the checkout, against a
 * fresh `npm start` whose superuser password is in WHARF_ADMIN_PASSWORD (and its port in PORT), as
 * the README says. It signs in, creates a connector, runs it, uploads a build context, waits for
 * the build, pulls the image and reads the file back, then stops the connector. As in
 * readme-quick-start.test.ts, only where the clients keep their state differs from a newcomer's
 * machine: podman's store, configuration and login file, and the temporary directory (which holds
 * the connector's work directory), are private to the test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Newcomer, newcomerEnv, readmeBlock, runBash, startAsNewcomer } from "./helpers/readme-blocks";
import { ROOT } from "./helpers/server";

const MARKER = "<!-- connector-walkthrough";

let newcomer: Newcomer;

// As a newcomer runs it: npm start bootstraps the superuser and prints its password.
beforeAll(async () => {
  newcomer = await startAsNewcomer("wharf-readme-connector-");
}, 180_000);
afterAll(() => newcomer?.stop());

describe("the README's connector walkthrough", () => {
  it("creates a connector, builds an uploaded context with it and pulls the image back, as written", async () => {
    const { server, tmp, password } = newcomer;
    expect(password, `npm start printed no password:\n${server.output()}`).not.toBe("");
    const block = await readmeBlock(MARKER);
    const env = await newcomerEnv(tmp, new URL(server.url).port, password);
    const run = await runBash(block, ROOT, env, 170_000);
    const report = `the walkthrough failed:\n${block}\n--- output ---\n${run.output}\n--- server ---\n${server
      .output()
      .slice(-3000)}`;
    expect(run.code, report).toBe(0);

    // The connector came up with the token the block created, ran the one build, and stopped.
    expect(run.output, report).toMatch(/wharf-connector: connected to http:\/\/localhost:\d+ as laptop; leasing build/);
    expect(run.output, report).toMatch(/wharf-connector: job [0-9a-f-]+: done/);
    expect(run.output, report).toMatch(/wharf-connector: exiting \(0\)/);
    // The build finished, the image was pulled back from the registry and holds the file.
    expect(run.output, report).toMatch(/^build complete$/m);
    expect(run.output, report).toMatch(/Trying to pull localhost:\d+\/admin\/built:v1/);
    expect(run.output, report).toMatch(/^Hello from a Wharf build$/m);

    // And the registry holds the tag the build pushed, in admin's private repository.
    const port = new URL(server.url).port;
    const auth = await fetch(`${server.url}/v2/auth?service=127.0.0.1:${port}&scope=repository:admin/built:pull`, {
      headers: { Authorization: `Basic ${btoa(`admin:${password}`)}` },
    });
    const { token } = (await auth.json()) as { token: string };
    const manifest = await fetch(`${server.url}/v2/admin/built/manifests/v1`, {
      method: "HEAD",
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    expect(manifest.status).toBe(200);
  }, 240_000);
});
