/**
 * The build screens in headless Chromium against `npm start` and its real build and trigger API
 * (issue #18), the test playing the connector's calls (../helpers/connector-calls.ts): a user
 * uploads a Dockerfile with Start New Build, the build page shows it waiting, then the log lines
 * and phase the connector reports arrive without a reload, then its failure; another build is
 * cancelled from its page; a custom git trigger is created, set up, shows its credentials, runs
 * with a commit, is disabled and deleted. Each step is checked against what the API then holds.
 * The same screens against routed answers: builds-screens.test.ts.
 */
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { connectorSession } from "../helpers/connector-calls";
import { runSuffix } from "../helpers/seed-commands";
import { connectWharf } from "../helpers/server";
import { sessionApi } from "../helpers/ui-api";

const base = inject("wharfUrl");
const suffix = runSuffix();
const username = `uibuilder${suffix}`;
// Quay builds only in organizations (`disallow_for_user_namespace`).
const org = `uibuildorg${suffix}`;
const repo = `${org}/app`;
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;

async function checkScreen(page: Page, name: string) {
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, name);
}

async function signedIn() {
  const watched = await openPage(browser, base);
  const creds = await wharf.credentialsFor(username);
  await signIn(watched.page, creds.username, creds.password);
  return watched;
}

/** The build's uuid, from its page's URL (`…/build/{uuid}`). */
const buildOf = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
  const watched = await signedIn();
  await sessionApi(watched.page, "POST", "/organization/", { name: org, email: `${org}@example.com` });
  await sessionApi(watched.page, "POST", "/repository", {
    namespace: org,
    repository: "app",
    visibility: "private",
    description: "",
  });
  await watched.close();
});
afterAll(async () => browser?.close());

describe("builds in the UI", () => {
  it("starts a build from a Dockerfile, shows the connector's log live, then its failure", async () => {
    const connector = await connectorSession(base, wharf.adminToken, `uibuilds${suffix}`, ["build"]);
    const watched = await signedIn();
    const { page } = watched;
    await page.goto(`/repository/${repo}?tab=builds`);
    await page.getByRole("heading", { name: "No builds yet" }).waitFor();
    await page.getByRole("button", { name: "Start New Build" }).click();
    const dialog = page.getByRole("dialog", { name: "Start New Build" });
    await dialog.getByLabel("Dockerfile or archive").setInputFiles({
      name: "Dockerfile",
      mimeType: "text/plain",
      buffer: Buffer.from("FROM scratch\nCOPY hello /hello\n"),
    });
    await dialog.getByLabel("Tags").fill("v1");
    await dialog.getByRole("button", { name: "Start Build" }).click();
    await page.waitForURL(`**/repository/${repo}/build/*`);
    const uuid = buildOf(page);
    await page.locator('[data-phase="waiting"]').waitFor();
    expect(await sessionApi(page, "GET", `/repository/${repo}/build/${uuid}`)).toMatchObject({
      id: uuid,
      tags: ["v1"],
      manual_user: username,
    });

    // The connector leases it and reports: the page follows without a reload.
    const job = await connector.leaseWhere("build", (j) => j.build?.uuid === uuid);
    await connector.heartbeat(job, {
      phase: "building",
      logs: [{ message: "STEP 1/2: FROM scratch", type: "command" }, { message: "<b>copying</b> hello" }],
    });
    await page.locator('[data-phase="building"]').waitFor({ timeout: 15_000 });
    const log = page.getByRole("log", { name: "Build log" });
    await log.getByText("STEP 1/2: FROM scratch").waitFor({ timeout: 15_000 });
    await log.getByText("<b>copying</b> hello").waitFor();
    await checkScreen(page, "builds-real-running");
    await connector.fail(job, "COPY failed: file not found in build context: hello");
    await page.locator('[data-phase="error"]').waitFor({ timeout: 15_000 });
    await page.getByRole("alert").getByText("COPY failed: file not found").waitFor();
    expect((await sessionApi(page, "GET", `/repository/${repo}/build/${uuid}`)).phase).toBe("error");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download logs" }).click(),
    ]);
    expect(await readFile((await download.path())!, "utf8")).toContain("STEP 1/2: FROM scratch\n<b>copying</b> hello");
    await checkScreen(page, "builds-real-failed");

    // The tab lists it, failed, started by hand.
    await page.goto(`/repository/${repo}?tab=builds`);
    const row = page.locator(`tr[data-build="${uuid}"]`);
    await row.getByText("Failed").waitFor();
    expect(await row.textContent()).toContain(`Manually started by ${username}`);
    watched.clean();
    await watched.close();
  });

  it("cancels a waiting build from its page", async () => {
    const watched = await signedIn();
    const { page } = watched;
    const build = await sessionApi(page, "POST", `/repository/${repo}/build/`, {
      archive_url: "https://example.com/context.tar.gz",
      docker_tags: ["cancelled"],
    });
    await page.goto(`/repository/${repo}/build/${build.id}`);
    await page.locator('[data-phase="waiting"]').waitFor();
    await page.getByRole("button", { name: "Cancel build" }).click();
    await page
      .getByRole("dialog", { name: "Cancel this build?" })
      .getByRole("button", { name: "Cancel build" })
      .click();
    await page.locator('[data-phase="cancelled"]').waitFor();
    expect((await sessionApi(page, "GET", `/repository/${repo}/build/${build.id}`)).phase).toBe("cancelled");
    watched.clean();
    await watched.close();
  });

  it("creates a custom git trigger, shows its credentials, runs, disables and deletes it", async () => {
    const watched = await signedIn();
    const { page } = watched;
    await page.goto(`/repository/${repo}?tab=builds`);
    await page.getByRole("heading", { name: "No build triggers" }).waitFor();
    await page.getByRole("button", { name: "Create Build Trigger" }).click();
    await page.getByRole("dialog", { name: "Create Build Trigger" }).getByRole("button", { name: "Create" }).click();
    const setup = page.getByRole("dialog", { name: "Set up Custom Git trigger" });
    await setup.getByLabel("Git repository URL").fill("git@git.example.com:team/app.git");
    await setup.getByLabel("Branch/tag regex (optional)").fill("heads/main");
    await setup.getByRole("button", { name: "Activate Trigger" }).click();
    const credentials = page.getByRole("dialog", { name: "Trigger credentials" });
    await credentials.waitFor();
    const values = await credentials.getByRole("textbox").evaluateAll((els) => els.map((e) => (e as any).value));
    expect(values.some((v: string) => v.startsWith("ssh-"))).toBe(true);
    expect(values.some((v: string) => v.includes("/webhooks/"))).toBe(true);
    await checkScreen(page, "builds-real-trigger-credentials");
    await credentials.getByRole("button", { name: "Done" }).click();

    const [trigger] = (await sessionApi(page, "GET", `/repository/${repo}/trigger/`)).triggers;
    expect(trigger).toMatchObject({ service: "custom-git", is_active: true, enabled: true });
    expect(trigger.config.build_source).toBe("git@git.example.com:team/app.git");
    expect(trigger.config.branchtag_regex).toBe("heads/main");
    const row = page.locator(`tr[data-trigger="${trigger.id}"]`);
    await row.getByText("refs matching heads/main").waitFor();
    await checkScreen(page, "builds-real-triggers");

    // Run now with a commit: a build of it opens, waiting.
    await page.getByRole("button", { name: `Actions for trigger ${trigger.id}` }).click();
    await page.getByRole("button", { name: "Run Trigger Now" }).click();
    const runDialog = page.getByRole("dialog", { name: "Run Trigger Now" });
    await runDialog.getByLabel("Commit SHA").fill("0123456789abcdef0123456789abcdef01234567");
    await runDialog.getByRole("button", { name: "Start Build" }).click();
    await page.waitForURL(`**/repository/${repo}/build/*`);
    const run = await sessionApi(page, "GET", `/repository/${repo}/build/${buildOf(page)}`);
    expect(run.trigger?.id).toBe(trigger.id);
    await page.getByRole("button", { name: "Cancel build" }).click();
    await page
      .getByRole("dialog", { name: "Cancel this build?" })
      .getByRole("button", { name: "Cancel build" })
      .click();
    await page.locator('[data-phase="cancelled"]').waitFor();

    // Disable, then delete.
    await page.goto(`/repository/${repo}?tab=builds`);
    await page.getByRole("button", { name: `Actions for trigger ${trigger.id}` }).click();
    await page.getByRole("button", { name: "Disable Trigger" }).click();
    await row.getByText(/^Disabled/).waitFor();
    expect((await sessionApi(page, "GET", `/repository/${repo}/trigger/${trigger.id}`)).enabled).toBe(false);
    await page.getByRole("button", { name: `Actions for trigger ${trigger.id}` }).click();
    await page.getByRole("button", { name: "Delete Trigger" }).click();
    await page
      .getByRole("dialog", { name: "Delete this build trigger?" })
      .getByRole("button", { name: "Delete" })
      .click();
    await row.waitFor({ state: "detached" });
    expect((await sessionApi(page, "GET", `/repository/${repo}/trigger/`)).triggers).toEqual([]);
    watched.clean();
    await watched.close();
  });
});
