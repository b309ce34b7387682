/**
 * The superuser panel's operating screens (issue #19) in headless Chromium against `npm start`: the
 * services at a glance; the Configuration tab (a secret reads only "set", its value is nowhere on
 * the page; a bad configuration pasted in the check names its key); the Metrics tab (a scrape
 * token created, shown once, scrapes /metrics from this test, and stops working once deleted); an
 * organization's fair-use override set from its row's menu, seen after a reload and through the
 * API, then removed. Axe and screenshots on each screen.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
const suffix = Math.random().toString(36).slice(2, 7);
const orgName = `uifair${suffix}`;
const tokenName = `prom-${suffix}`;

async function asAdmin(apiPath: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/api/v1${apiPath}`, {
    ...init,
    headers: { Authorization: `Bearer ${wharf.adminToken}`, "Content-Type": "application/json", ...init.headers },
  });
}

async function openTab(page: Page, name: string) {
  await page.getByRole("tab", { name }).click();
  await page.getByRole("tab", { name, selected: true }).waitFor();
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

describe("the superuser panel's operating screens", () => {
  it("shows the configuration, checks one, manages scrape tokens and an organization's fair use", async () => {
    const admin = await wharf.credentialsFor("admin");
    const created = await asAdmin("/organization/", {
      method: "POST",
      body: JSON.stringify({ name: orgName, email: `${orgName}@example.com` }),
    });
    expect(created.status).toBe(201);
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);

    // The services at a glance, above the tabs.
    await page.goto("/superuser?tab=configuration");
    await page.locator('[data-glance="database"]').getByText("up").waitFor();

    // Configuration: keys with values, secrets only as set.
    await page.locator('tr[data-config-key="SERVER_HOSTNAME"]').waitFor();
    const secret = page.locator('[data-secret="WHARF_SECRET_KEY"]');
    expect((await secret.getByText(/set$/).textContent())?.trim()).toBe("set");
    const secrets = JSON.parse(await readFile(path.join(inject("wharfStateDir"), "secrets.json"), "utf8")) as Record<
      string,
      string
    >;
    const html = await page.content();
    for (const value of Object.values(secrets)) expect(html).not.toContain(value);
    await page.getByLabel("Filter keys").fill("fair_use_namespace");
    await page.locator('tr[data-config-key="FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE"]').waitFor();
    expect(await page.locator("tr[data-config-key]").count()).toBe(2);

    // A bad configuration, YAML-ish: the check names the bad key (and the secret that has no place there).
    const check = page.getByLabel("Configuration to check");
    await check.fill("FEATURE_BUILD_SUPPORT: true\nTAG_EXPIRATION_OPTIONS: [1d, soon]\nWHARF_SECRET_KEY: x");
    await page.getByRole("button", { name: "Check configuration" }).click();
    await page.locator('[data-config-error="TAG_EXPIRATION_OPTIONS"]').waitFor();
    await page.locator('[data-config-error="WHARF_SECRET_KEY"]').getByText("wrangler secret put").waitFor();
    expect(await page.locator('[data-config-error="FEATURE_BUILD_SUPPORT"]').count()).toBe(0);
    await checkScreen(page, "superuser-configuration");
    // A good one, as JSON.
    await check.fill('{"FEATURE_BUILD_SUPPORT": true}');
    await page.getByRole("button", { name: "Check configuration" }).click();
    await page.getByText("This configuration is valid.").waitFor();

    // Metrics: create a scrape token, shown once with a scrape configuration; it scrapes /metrics.
    await openTab(page, "Metrics");
    // The link opens /metrics with the superuser's session.
    const href = await page.getByRole("link", { name: "/metrics" }).getAttribute("href");
    expect((await page.context().request.get(new URL(href!, base).toString())).status()).toBe(200);
    await page.getByRole("button", { name: "Create scrape token" }).click();
    const create = page.getByRole("dialog", { name: "Create scrape token" });
    await create.getByLabel("Name").fill(tokenName);
    await create.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByRole("dialog", { name: `Scrape token ${tokenName} created` });
    const token = await shown.getByRole("textbox", { name: "Scrape token", exact: true }).inputValue();
    expect(token).toMatch(/^wharfm_/);
    const snippet = await shown.getByRole("textbox", { name: "Prometheus scrape configuration" }).inputValue();
    expect(snippet).toContain(`credentials: ${token}`);
    expect(snippet).toContain(`targets: ["${new URL(base).host}"]`);
    await checkScreen(page, "superuser-metrics-token");
    await shown.getByRole("button", { name: "Done" }).click();
    await page.locator(`tr[data-metrics-token="${tokenName}"]`).waitFor();
    const scrape = () => fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    const scraped = await scrape();
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^# (HELP|TYPE) wharf_/m);
    // Deleted behind a confirmation: the token is refused from then on.
    await page.getByRole("button", { name: `Actions for ${tokenName}`, exact: true }).click();
    await page.getByRole("button", { name: "Delete token", exact: true }).click();
    await page
      .getByRole("dialog", { name: `Delete scrape token ${tokenName}?` })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.locator(`tr[data-metrics-token="${tokenName}"]`).waitFor({ state: "detached" });
    const refused = await scrape();
    await refused.body?.cancel();
    expect(refused.status).toBe(401);

    // Fair use: set an organization's override from its row, see it after a reload, remove it.
    await openTab(page, "Organizations");
    const openFairUse = async () => {
      await page.getByRole("button", { name: `Actions for ${orgName}`, exact: true }).click();
      await page.getByRole("button", { name: "Fair use", exact: true }).click();
      const dialog = page.getByRole("dialog", { name: `Fair use of ${orgName}` });
      await dialog.getByTestId("fairuse-effective").waitFor();
      return dialog;
    };
    let dialog = await openFairUse();
    await dialog.getByText("none: the defaults apply").waitFor();
    await dialog.getByLabel("Requests per minute").fill("120");
    await dialog.getByLabel("Pull bandwidth per hour").fill("2");
    await dialog.getByLabel("Pull bandwidth unit").selectOption({ label: "GiB" });
    await checkScreen(page, "superuser-fairuse");
    await dialog.getByRole("button", { name: "Save override" }).click();
    await dialog.waitFor({ state: "detached" });
    const saved = (await (await asAdmin(`/superuser/organizations/${orgName}/fairuse`)).json()) as {
      requests_per_minute: number | null;
      pull_bytes_per_hour: number | null;
    };
    expect(saved).toMatchObject({ requests_per_minute: 120, pull_bytes_per_hour: 2 * 1024 ** 3 });

    await page.reload();
    await page.getByRole("tab", { name: "Organizations", selected: true }).waitFor();
    dialog = await openFairUse();
    await dialog.getByText("120 requests per minute; pulls: 2.00 GiB per hour").waitFor();
    expect(await dialog.getByLabel("Requests per minute").inputValue()).toBe("120");
    expect(await dialog.getByLabel("Pull bandwidth per hour").inputValue()).toBe("2");
    await dialog.getByRole("button", { name: "Remove override" }).click();
    await dialog.waitFor({ state: "detached" });
    const removed = (await (await asAdmin(`/superuser/organizations/${orgName}/fairuse`)).json()) as {
      requests_per_minute: number | null;
      pull_bytes_per_hour: number | null;
    };
    expect(removed).toMatchObject({ requests_per_minute: null, pull_bytes_per_hour: null });

    // On a phone the configuration's long keys and values scroll inside their frame, not the page.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/superuser?tab=configuration");
    await page.locator('tr[data-config-key="SERVER_HOSTNAME"]').waitFor();
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await checkScreen(page, "superuser-configuration-phone");

    watched.clean();
    await watched.close();
  });
});
