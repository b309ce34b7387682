/**
 * The account page and the notification bell in headless Chromium against `npm start` (issue #17):
 * a user changes their email, time-machine window and password (then signs in with the new one),
 * creates an application token (shown in Quay's credential formats) and revokes it; the bell
 * counts an in-app notification (a repository notification with Quay's `quay_notification`
 * method, tested), lists it with a link, closes on Escape and marks it read. What the UI did is
 * checked against what the API then holds.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { apiCall } from "../helpers/api-calls";
import { connectWharf } from "../helpers/server";
import { sessionApi, sessionRequest } from "../helpers/ui-api";

const base = inject("wharfUrl");
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
/** Names of this run, so a rerun on a kept state directory starts afresh. */
const run = Date.now().toString(36);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

const asAdmin = (method: string, path: string, body?: unknown) => apiCall(base, wharf.adminToken, method, path, body);

describe("the account page", () => {
  it("changes email, time machine and password, and creates and revokes an application token", async () => {
    const user = await wharf.credentialsFor(`uiacct-${run}`);
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, user.username, user.password);
    await page.goto(`/user/${user.username}?tab=settings`);
    await page.getByRole("tab", { name: "Settings", selected: true }).waitFor();
    await page.getByRole("heading", { name: "Application tokens", exact: true }).waitFor();
    await page.getByText("No application tokens").waitFor();

    // Email.
    await page.getByLabel("Email", { exact: true }).fill(`${user.username}@new.example.com`);
    await page.getByRole("button", { name: "Change email" }).click();
    await page.getByText("Email changed").waitFor();
    expect((await sessionApi(page, "GET", "/user/")).email).toBe(`${user.username}@new.example.com`);

    // The time-machine window: one of the registry's options (1 week), held by the API.
    const window = page.getByLabel("Time machine window");
    expect(await window.locator("option").allTextContents()).toContain("2 weeks");
    await window.selectOption({ label: "1 week" });
    // Quay's fresh-login rule: a session signed in long ago is answered 401 fresh_login_required
    // (the registry's own answer, given here once since this session is new); the page asks for the
    // password, proves it with POST /signin/verify (a wrong one is refused) and saves again.
    let refused = false;
    await page.route("**/api/v1/user/", (route) => {
      if (route.request().method() !== "PUT" || refused) return route.fallback();
      refused = true;
      return route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({
          status: 401,
          error_message: "Requires fresh login",
          title: "fresh_login_required",
          error_type: "fresh_login_required",
          detail: "Requires fresh login",
        }),
      });
    });
    await page.getByRole("button", { name: "Save window" }).click();
    const verify = page.getByRole("dialog", { name: "Please verify your password" });
    await verify.getByLabel("Current password").fill("not-the-password");
    watched.expect(403, /^\/api\/v1\/signin\/verify$/);
    await verify.getByRole("button", { name: "Verify" }).click();
    await verify.getByRole("alert").getByText("Invalid Username or Password").waitFor();
    await verify.getByLabel("Current password").fill(user.password);
    await verify.getByRole("button", { name: "Verify" }).click();
    await page.getByText("Time machine window saved").waitFor();
    await verify.waitFor({ state: "hidden" });
    expect((await sessionApi(page, "GET", "/user/")).tag_expiration_s).toBe(7 * 86_400);

    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "account-settings");

    // An application token: shown once with Quay's credential formats, then listed.
    await page.getByRole("button", { name: "Create application token" }).click();
    await page.getByLabel("Token title").fill("ci laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    const code = await page.getByRole("textbox", { name: "Application token", exact: true }).inputValue();
    expect(code.length).toBeGreaterThan(20);
    const host = new URL(base).host;
    expect(await page.getByRole("textbox", { name: "Podman login" }).inputValue()).toBe(
      `podman login -u='$app' -p='${code}' ${host}`,
    );
    expect(await page.getByRole("textbox", { name: "Docker login" }).inputValue()).toBe(
      `docker login -u='$app' -p='${code}' ${host}`,
    );
    expect(await page.getByRole("textbox", { name: "Username", exact: true }).inputValue()).toBe("$app");
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Done" }).click();
    // As in Quay, the listed token's title shows its credentials again.
    await page.getByRole("button", { name: "ci laptop", exact: true }).click();
    const again = page.getByRole("dialog", { name: "Application token ci laptop" });
    expect(await again.getByRole("textbox", { name: "Application token", exact: true }).inputValue()).toBe(code);
    await again.getByRole("button", { name: "Done" }).click();
    const listed = (await sessionApi(page, "GET", "/user/apptoken")).tokens;
    expect(listed.map((t: { title: string }) => t.title)).toEqual(["ci laptop"]);
    // The code works as a registry password for `$app`.
    const login = await fetch(`${base}/v2/auth?service=${host}&scope=repository:${user.username}/x:pull`, {
      headers: { Authorization: `Basic ${btoa(`$app:${code}`)}` },
    });
    expect(login.status).toBe(200);

    // Revoke it, behind a confirmation.
    await page.getByRole("button", { name: "Revoke ci laptop" }).click();
    await page.getByRole("button", { name: "Revoke token" }).click();
    await page.getByText("No application tokens").waitFor();
    expect((await sessionApi(page, "GET", "/user/apptoken")).tokens).toEqual([]);

    // Quay's encrypted docker CLI password: it signs in to the registry in place of the password.
    await page.getByRole("button", { name: "Generate encrypted password" }).click();
    const encrypt = page.getByRole("dialog", { name: "Generate an encrypted password" });
    await encrypt.getByLabel("Your password").fill(user.password);
    await encrypt.getByRole("button", { name: "Generate" }).click();
    const key = await encrypt.getByRole("textbox", { name: "Encrypted password", exact: true }).inputValue();
    expect(await encrypt.getByRole("textbox", { name: "Docker login" }).inputValue()).toBe(
      `docker login -u='${user.username}' -p='${key}' ${host}`,
    );
    const keyLogin = await fetch(`${base}/v2/auth?service=${host}`, {
      headers: { Authorization: `Basic ${btoa(`${user.username}:${key}`)}` },
    });
    expect(keyLogin.status).toBe(200);
    await encrypt.getByRole("button", { name: "Done" }).click();

    // The password; then signing out and in again with the new one.
    const newPassword = `new-${run}-password`;
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Repeat new password").fill(`${newPassword}x`);
    expect(await page.getByRole("button", { name: "Change password" }).isDisabled()).toBe(true);
    await page.getByLabel("Repeat new password").fill(newPassword);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed").waitFor();
    await page.getByRole("button", { name: user.username, exact: true }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/signin");
    await signIn(page, user.username, newPassword);
    expect(new URL(page.url()).pathname).toBe("/repository/");
    watched.clean();
    await watched.close();
  });

  it("shows another user's public repositories only", async () => {
    const owner = await wharf.credentialsFor(`uiacct-owner-${run}`);
    const viewer = await wharf.credentialsFor(`uiacct-viewer-${run}`);
    const ownerPage = await openPage(browser, base);
    await signIn(ownerPage.page, owner.username, owner.password);
    for (const [repository, visibility] of [
      ["shown", "public"],
      ["hidden", "private"],
    ]) {
      const made = (
        await sessionRequest(ownerPage.page, "POST", "/repository", {
          namespace: owner.username,
          repository,
          visibility,
          description: "",
        })
      ).status();
      expect(made).toBe(201);
    }
    ownerPage.clean();
    await ownerPage.close();

    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, viewer.username, viewer.password);
    await page.goto(`/user/${owner.username}`);
    await page.getByRole("heading", { name: "Public repositories" }).waitFor();
    await page.getByRole("link", { name: `${owner.username}/shown` }).waitFor();
    expect(await page.getByRole("link", { name: `${owner.username}/hidden` }).count()).toBe(0);
    expect(await page.getByRole("tab").count()).toBe(0);
    watched.clean();
    await watched.close();
  });
});

describe("deleting the account", () => {
  it("asks for confirmation, deletes the user and signs out", async () => {
    const user = await wharf.credentialsFor(`uiacct-gone-${run}`);
    // The settings on a phone-sized screen too.
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    const { page } = watched;
    await signIn(page, user.username, user.password);
    await page.goto(`/user/${user.username}?tab=settings`);
    await page.getByText("No application tokens").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    // Nothing wider than the screen (the tabs and tables scroll inside their own boxes).
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await screenshot(page, "account-settings-phone");
    await page.getByRole("button", { name: "Delete account" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete account" });
    await confirm.getByText(`Delete the account ${user.username}`).waitFor();
    await confirm.getByRole("button", { name: "Delete account" }).click();
    await page.waitForURL("**/signin");
    expect((await fetch(`${base}/api/v1/users/${user.username}`)).status).toBe(404);
    watched.clean();
    await watched.close();
  });
});

describe("the notification bell", () => {
  it("counts an in-app notification, lists it with a link, closes on Escape and marks it read", async () => {
    const user = await wharf.credentialsFor(`uibell-${run}`);
    const repository = `bell-${run}`;
    await asAdmin("POST", "/repository", { namespace: "admin", repository, visibility: "public", description: "" });
    const created = await asAdmin("POST", `/repository/admin/${repository}/notification/`, {
      event: "repo_push",
      method: "quay_notification",
      config: { target: { kind: "user", name: user.username } },
      eventConfig: {},
    });
    await asAdmin("POST", `/repository/admin/${repository}/notification/${created.uuid}/test`);

    // A phone-sized screen.
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    const { page } = watched;
    await signIn(page, user.username, user.password);
    // The test delivery goes through the queue: wait until it reached the user.
    await expect
      .poll(async () => (await sessionApi(page, "GET", "/user/notifications")).notifications.length, {
        timeout: 30_000,
      })
      .toBe(1);
    await page.reload();
    const bell = page.getByRole("button", { name: "Notifications, 1 unread" });
    await bell.click();
    const popover = page.getByRole("dialog", { name: "Notifications" });
    const text = `Repository admin/${repository} has been pushed with tags latest, foo`;
    const link = popover.getByRole("link", { name: text });
    expect(await link.getAttribute("href")).toBe(`/repository/admin/${repository}`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "account-bell");

    // Escape closes the popover and gives focus back to the bell.
    await page.keyboard.press("Escape");
    await popover.waitFor({ state: "detached" });
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute("aria-label"))).toBe(
      "Notifications, 1 unread",
    );

    // Open it by keyboard and mark the notification read: Quay dismisses it.
    await page.keyboard.press("Enter");
    await popover.getByRole("button", { name: `Mark read: ${text}` }).click();
    await popover.getByText("No unread notifications.").waitFor();
    await page.getByRole("button", { name: "Notifications, none unread" }).waitFor();
    expect((await sessionApi(page, "GET", "/user/notifications")).notifications).toEqual([]);
    watched.clean();
    await watched.close();
  });
});
