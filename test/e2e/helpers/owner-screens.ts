/**
 * The scene of the issue #18 screens' browser tests (test/e2e/ui/*-screens.test.ts): a Chromium, a
 * user of its own with a private repository `<user>/app` made through the UI's session, and pages
 * signed in as that owner with builds and scanning turned on; each main screen checked with axe
 * and a screenshot.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { withFeatures } from "./build-fixtures";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "./browser";
import { runSuffix } from "./seed-commands";
import { connectWharf } from "./server";
import { sessionApi } from "./ui-api";

/** No accessibility violations, and a screenshot named `name`. */
export async function checkScreen(page: Page, name: string) {
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, name);
}

/** Registers the file's beforeAll/afterAll for the owner `<prefix><run suffix>`; the scene. */
export function ownerScreens(prefix: string) {
  const base = inject("wharfUrl");
  const username = `${prefix}${runSuffix()}`;
  const repo = `${username}/app`;
  let browser: Browser;
  let wharf: Awaited<ReturnType<typeof connectWharf>>;

  /** A signed-in page of the repository's owner, with builds and scanning turned on. */
  async function ownerPage() {
    const watched = await openPage(browser, base);
    const creds = await wharf.credentialsFor(username);
    await withFeatures(watched.page, { BUILD_SUPPORT: true, SECURITY_SCANNER: true });
    await signIn(watched.page, creds.username, creds.password);
    return watched;
  }

  beforeAll(async () => {
    wharf = await connectWharf(base, inject("wharfStateDir"));
    browser = await launchBrowser();
    const watched = await ownerPage();
    await sessionApi(watched.page, "POST", "/repository", {
      namespace: username,
      repository: "app",
      visibility: "private",
      description: "",
    });
    await watched.close();
  });
  afterAll(async () => browser?.close());

  return {
    base,
    username,
    repo,
    repoApi: `/repository/${repo}`,
    ownerPage,
    browser: () => browser,
    wharf: () => wharf,
  };
}
