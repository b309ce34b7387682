/**
 * The superuser panel in headless Chromium against `npm start` (issue #17): as `admin`, create a
 * user (its generated password signs in), disable and enable it (a sign-in is refused, then works
 * again), change its password, delete a user, rename an organization, set a namespace quota, read
 * the registry-wide logs with the entries this test caused, check health and post a global
 * message; each checked through the API. A user without superuser powers sees no Superuser link
 * and the "superusers only" state. Screenshots and axe on each tab, one at 390x844.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
const suffix = Math.random().toString(36).slice(2, 7);
const newUser = `uinew${suffix}`;
const orgName = `uisuorg${suffix}`;

/** The status of a browser sign-in with these credentials, as the API answers it. */
async function signInStatus(username: string, password: string): Promise<number> {
  const res = await fetch(`${base}/api/v1/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  await res.body?.cancel();
  return res.status;
}

/** `/api/v1{path}` with the superuser's token. */
async function asAdmin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/api/v1${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${wharf.adminToken}`, "Content-Type": "application/json", ...init.headers },
  });
}

async function openTab(page: Page, name: string) {
  await page.getByRole("tab", { name }).click();
  await page.getByRole("tab", { name, selected: true }).waitFor();
}

/** Opens the row's action list and picks `action`. */
async function rowAction(page: Page, owner: string, action: string) {
  await page.getByRole("button", { name: `Actions for ${owner}`, exact: true }).click();
  await page.getByRole("button", { name: action, exact: true }).click();
}

async function checkScreen(page: Page, name: string) {
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, name);
}

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

describe("the superuser panel", () => {
  it("manages users: create, disable, enable, change password, delete", async () => {
    const admin = await wharf.credentialsFor("admin");
    const doomed = await wharf.credentialsFor(`uidoomed${suffix}`);
    const owned = await wharf.credentialsFor(`uiowned${suffix}`);
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Superuser" }).click();
    await page.waitForURL("**/superuser");
    await page.getByRole("heading", { name: "Superuser panel" }).waitFor();
    await page.locator(`tr[data-username="${doomed.username}"]`).waitFor();
    await checkScreen(page, "superuser-users");

    // Create: the registry's generated password, shown once, signs in.
    await page.getByRole("button", { name: "Create user" }).click();
    const create = page.getByRole("dialog", { name: "Create user" });
    await create.getByLabel("Username").fill(newUser);
    await create.getByLabel("Email").fill(`${newUser}@example.com`);
    await create.getByRole("button", { name: "Create user" }).click();
    const created = page.getByRole("dialog", { name: `User ${newUser} created` });
    const password = await created.getByRole("textbox", { name: "Generated password" }).inputValue();
    expect(password.length).toBeGreaterThanOrEqual(8);
    await created.getByRole("button", { name: "Done" }).click();
    expect(await signInStatus(newUser, password)).toBe(200);
    await page.locator(`tr[data-username="${newUser}"]`).waitFor();

    // Disable: the account is disabled and a sign-in with it is refused; enable: it works again.
    await rowAction(page, newUser, "Disable user");
    await page
      .getByRole("dialog", { name: `Disable user ${newUser}?` })
      .getByRole("button", { name: "Disable" })
      .click();
    await page.locator(`tr[data-username="${newUser}"]`).getByText("Disabled").waitFor();
    const disabled = (await (await asAdmin(`/superuser/users/${newUser}`)).json()) as { enabled: boolean };
    expect(disabled.enabled).toBe(false);
    expect(await signInStatus(newUser, password)).toBe(403);
    await rowAction(page, newUser, "Enable user");
    await page.locator(`tr[data-username="${newUser}"]`).getByText("Enabled").waitFor();
    expect(await signInStatus(newUser, password)).toBe(200);

    // Change the password: the new one signs in, the old one no longer does.
    const changed = `changed-${suffix}-password`;
    await rowAction(page, newUser, "Change password");
    const dialog = page.getByRole("dialog", { name: `Change password of ${newUser}` });
    await dialog.getByLabel("New password").fill(changed);
    await dialog.getByRole("button", { name: "Change password" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await signInStatus(newUser, changed)).toBe(200);
    expect(await signInStatus(newUser, password)).toBe(403);

    // A stale login (Quay's fresh_login_required, provoked here for one request): the panel asks
    // the password, proves it with POST /api/v1/signin/verify, and repeats the change.
    const userPath = `**/api/v1/superuser/users/${newUser}`;
    let refused = false;
    await page.route(userPath, async (route) => {
      if (refused || route.request().method() !== "PUT") return route.continue();
      refused = true;
      await route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({
          status: 401,
          error_type: "fresh_login_required",
          error_message: "Requires fresh login",
        }),
      });
    });
    watched.expect(401, new RegExp(`^/api/v1/superuser/users/${newUser}$`));
    watched.expect(403, /^\/api\/v1\/signin\/verify$/);
    await rowAction(page, newUser, "Change email");
    const emailDialog = page.getByRole("dialog", { name: `Change email of ${newUser}` });
    await emailDialog.getByLabel("New email").fill(`renamed-${newUser}@example.com`);
    await emailDialog.getByRole("button", { name: "Change email" }).click();
    const prompt = page.getByRole("dialog", { name: "Confirm your password" });
    await prompt.getByLabel("Your password").fill("not-the-password");
    await prompt.getByRole("button", { name: "Confirm" }).click();
    await prompt.getByRole("alert").getByText("Invalid Username or Password").waitFor();
    await prompt.getByLabel("Your password").fill(admin.password);
    await prompt.getByRole("button", { name: "Confirm" }).click();
    await emailDialog.waitFor({ state: "detached" });
    await page.unroute(userPath);
    const withEmail = (await (await asAdmin(`/superuser/users/${newUser}`)).json()) as { email: string };
    expect(withEmail.email).toBe(`renamed-${newUser}@example.com`);

    // Take ownership of a user: the account becomes an organization the superuser owns.
    await rowAction(page, owned.username, "Take ownership");
    await page
      .getByRole("dialog", { name: `Take ownership of ${owned.username}?` })
      .getByRole("button", { name: "Take ownership" })
      .click();
    await page.locator(`tr[data-username="${owned.username}"]`).waitFor({ state: "detached" });
    const converted = (await (await asAdmin(`/organization/${owned.username}`)).json()) as { is_admin: boolean };
    expect(converted.is_admin).toBe(true);

    // Delete another user.
    await rowAction(page, doomed.username, "Delete user");
    await page
      .getByRole("dialog", { name: `Delete user ${doomed.username}?` })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.locator(`tr[data-username="${doomed.username}"]`).waitFor({ state: "detached" });
    expect((await asAdmin(`/superuser/users/${doomed.username}`)).status).toBe(404);

    // The new user is no superuser: no link, and the panel's plain refusal.
    const other = await openPage(browser, base);
    await signIn(other.page, newUser, changed);
    await other.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Repositories" }).waitFor();
    expect(await other.page.getByRole("link", { name: "Superuser" }).count()).toBe(0);
    await other.page.goto("/superuser");
    await other.page.getByRole("heading", { name: "Superusers only" }).waitFor();
    expect(await accessibilityViolations(other.page)).toEqual([]);
    other.clean();
    await other.close();

    watched.clean();
    await watched.close();
  });

  it("renames an organization, sets a quota, reads the registry-wide logs and checks health", async () => {
    const admin = await wharf.credentialsFor("admin");
    const org = await asAdmin("/organization/", {
      method: "POST",
      body: JSON.stringify({ name: orgName, email: `${orgName}@example.com` }),
    });
    expect(org.status).toBe(201);
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);

    await page.goto("/superuser?tab=organizations");
    await page.locator(`tr[data-organization="${orgName}"]`).waitFor();
    await checkScreen(page, "superuser-organizations");
    const renamed = `${orgName}x`;
    await rowAction(page, orgName, "Rename");
    const rename = page.getByRole("dialog", { name: `Rename organization ${orgName}` });
    await rename.getByLabel("New name").fill(renamed);
    await rename.getByRole("button", { name: "Rename" }).click();
    await page.locator(`tr[data-organization="${renamed}"]`).waitFor();
    expect((await asAdmin(`/organization/${renamed}`)).status).toBe(200);

    await openTab(page, "Quotas");
    await page.locator(`tr[data-namespace="${renamed}"]`).waitFor();
    await page.getByRole("button", { name: `Quota actions for ${renamed}` }).click();
    await page.getByRole("button", { name: "Set quota", exact: true }).click();
    const quota = page.getByRole("dialog", { name: `Set the quota of ${renamed}` });
    await quota.getByLabel("Quota size").fill("5");
    await quota.getByLabel("Unit").selectOption({ label: "GiB" });
    await quota.getByRole("button", { name: "Set quota" }).click();
    await page.locator(`tr[data-namespace="${renamed}"]`).getByText("5.00 GiB").first().waitFor();
    const quotas = (await (await asAdmin(`/organization/${renamed}/quota`)).json()) as { limit_bytes: number }[];
    expect(quotas.map((q) => q.limit_bytes)).toEqual([5 * 1024 ** 3]);
    // The registry's size: a calculation queued from the card, followed until it reports.
    await page.getByRole("button", { name: "Calculate now" }).click();
    await expect
      .poll(() => page.getByTestId("registry-size").textContent(), { timeout: 30_000 })
      .toMatch(/^\d+(\.\d+)? (B|KiB|MiB|GiB)$/);
    await checkScreen(page, "superuser-quotas");

    await openTab(page, "Usage logs");
    // The entries this test file caused, across namespaces. Logs land a moment after the change
    // (the event pipeline), so the tab is opened again until the newest is there.
    const wanted = [
      page.locator('tr[data-kind="user_create"]', { hasText: newUser }),
      // Disabling logs no metadata (Quay's), only the user's namespace.
      page.locator('tr[data-kind="user_disable"]'),
      page.locator('tr[data-kind="user_enable"]'),
      page.locator('tr[data-kind="org_create_quota"]'),
    ];
    await page.locator("tr[data-kind]").first().waitFor();
    await expect
      .poll(
        async () => {
          const counts = await Promise.all(wanted.map((row) => row.count()));
          if (counts.every((n) => n > 0)) return true;
          await page.reload();
          await page.getByRole("tab", { name: "Usage logs", selected: true }).waitFor();
          await page.locator("tr[data-kind]").first().waitFor();
          return false;
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(true);
    await page.getByRole("img", { name: "Actions per day" }).waitFor();
    await checkScreen(page, "superuser-logs");

    await openTab(page, "Registry health");
    await page.locator('[data-check="worker"]').getByText("Healthy").waitFor();
    await page.locator('[data-check="database"]').getByText("Healthy").waitFor();
    await page.locator('[data-check="storage"]').getByText("Healthy").waitFor();
    await page.getByText("Sparse manifest lists").waitFor();
    const text = `Maintenance tonight ${suffix}`;
    await page.getByLabel("New message").fill(text);
    await page.getByLabel("Severity").selectOption("warning");
    await page.getByRole("button", { name: "Post message" }).click();
    await page.getByText(text).waitFor();
    const posted = (await (await fetch(`${base}/api/v1/messages`)).json()) as {
      messages: { content: string; severity: string }[];
    };
    expect(posted.messages).toContainEqual(expect.objectContaining({ content: text, severity: "warning" }));
    await checkScreen(page, "superuser-health");
    await page.getByRole("button", { name: `Delete message: ${text}` }).click();
    await page.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: `Delete message: ${text}` }).waitFor({ state: "detached" });
    const left = (await (await fetch(`${base}/api/v1/messages`)).json()) as { messages: { content: string }[] };
    expect(left.messages.map((m) => m.content)).not.toContain(text);

    watched.clean();
    await watched.close();
  });

  it("fits a 390-pixel-wide screen", async () => {
    const admin = await wharf.credentialsFor("admin");
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.goto("/superuser?tab=users");
    await page.locator(`tr[data-username="${newUser}"]`).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    // Tables scroll inside their frame; the page itself never scrolls sideways.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    // The row's actions stay in view (the email folds under the name).
    const actions = await page.getByRole("button", { name: `Actions for ${newUser}` }).boundingBox();
    expect(actions!.x + actions!.width).toBeLessThanOrEqual(390);
    await screenshot(page, "superuser-users-phone");
    watched.clean();
    await watched.close();
  });
});
