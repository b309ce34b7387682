/**
 * The web UI's shell in headless Chromium against `npm start` (issue #17): `/` shows the sign-in
 * page, the security headers are on the page, and signing in reaches the repository list.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

describe("the web UI's shell", () => {
  it("opens / on the sign-in page, with its security headers and no accessibility violation", async () => {
    const watched = await openPage(browser, base);
    const answer = await watched.page.goto("/");
    const headers = answer!.headers();
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    // HSTS only outside localhost (this is http on 127.0.0.1).
    expect(headers["strict-transport-security"]).toBeUndefined();
    await watched.page.waitForURL("**/signin");
    await watched.page.getByRole("heading", { name: "Sign in to Wharf" }).waitFor();
    expect(await accessibilityViolations(watched.page)).toEqual([]);
    await screenshot(watched.page, "signin");
    watched.clean();
    await watched.close();
  });

  it("signs in and shows the repository list", async () => {
    const user = await wharf.credentialsFor("uishell");
    const watched = await openPage(browser, base);
    await signIn(watched.page, user.username, user.password);
    expect(new URL(watched.page.url()).pathname).toBe("/repository/");
    await watched.page.getByRole("heading", { name: "Repositories" }).waitFor();
    watched.clean();
    await watched.close();
  });
});
