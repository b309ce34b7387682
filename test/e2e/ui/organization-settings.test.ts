/**
 * The organization's OAuth applications, auto-prune, quota, proxy-cache and settings tabs in
 * headless Chromium (issue #17), each driven as a person would and checked in the API afterwards.
 * The file starts its own registry with FEATURE_PROXY_CACHE on (the shared one runs with Quay's
 * default, off), allowed to reach the shared registry, which serves as the cache's upstream.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "../helpers/api-calls";
import { pushOneLayerImage } from "../helpers/one-layer-image";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { type RunningServer, startWharf } from "../helpers/server";
import { sessionApi } from "../helpers/ui-api";

const upstream = new URL(inject("wharfUrl"));
let browser: Browser;
let wharf: RunningServer;
const ORG = "orgmore";
const CACHE_ORG = "orgmorecache";
const DOOMED_ORG = "orgmoregone";
const MIRROR_ORG = "orgmoremirror";

async function userPage(viewport?: { width: number; height: number }) {
  const user = await wharf.credentialsFor("orgmoreowner");
  const watched = await openPage(browser, wharf.url, viewport ? { viewport } : {});
  await signIn(watched.page, user.username, user.password);
  return watched;
}

async function openTab(page: Page, org: string, tab: string, heading: string) {
  await page.goto(`/organization/${org}?tab=${tab}`);
  await page.getByRole("heading", { name: heading, exact: true }).waitFor();
}

beforeAll(async () => {
  wharf = await startWharf({ env: { FEATURE_PROXY_CACHE: "true", ALLOW_PRIVATE_OUTBOUND: upstream.host } });
  browser = await launchBrowser();
  const owner = await wharf.credentialsFor("orgmoreowner");
  // The owner's organizations, made through the API with a session of theirs.
  const watched = await openPage(browser, wharf.url);
  await signIn(watched.page, owner.username, owner.password);
  for (const name of [ORG, CACHE_ORG, DOOMED_ORG, MIRROR_ORG]) {
    await sessionApi(watched.page, "POST", "/organization/", { name, email: `${name}@example.com` });
  }
  await sessionApi(watched.page, "PUT", `/organization/${MIRROR_ORG}/robots/syncbot`, {});
  await watched.close();
  // Something stored, so the quota's usage bar has something to show.
  await pushOneLayerImage(wharf.url, new URL(wharf.url).host, owner, `${ORG}/app`, "v1");
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await wharf?.stop();
});

describe("the organization's other tabs", () => {
  it("creates an OAuth application and generates a token the API accepts", async () => {
    const watched = await userPage();
    const { page } = watched;
    await openTab(page, ORG, "applications", "OAuth applications");
    await page.getByRole("heading", { name: "No OAuth applications" }).waitFor();
    await page.getByRole("button", { name: "Create application" }).click();
    await page.getByLabel("Application name").fill("CI bot");
    await page.getByLabel("Homepage URL").fill("https://ci.example.com");
    await page.getByLabel("Description").fill("Builds and pushes");
    await page.getByRole("button", { name: "Create application" }).last().click();
    const clientId = page.getByRole("textbox", { name: "Client ID" });
    await clientId.waitFor();
    const { applications } = await sessionApi(page, "GET", `/organization/${ORG}/applications`);
    expect(applications).toHaveLength(1);
    expect(applications[0]).toMatchObject({ name: "CI bot", application_uri: "https://ci.example.com" });
    expect(await clientId.inputValue()).toBe(applications[0].client_id);
    await page.getByLabel("Read User Information").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-applications");

    // A new secret, behind its confirmation; the page shows what the API now holds.
    const secret = page.getByRole("textbox", { name: "Client secret" });
    const before = await secret.inputValue();
    await page.getByRole("button", { name: "Reset client secret" }).click();
    await page
      .getByRole("dialog", { name: "Reset client secret" })
      .getByRole("button", { name: "Reset secret" })
      .click();
    await page.getByText("Client secret reset").waitFor();
    const reset = await sessionApi(page, "GET", `/organization/${ORG}/applications/${applications[0].client_id}`);
    expect(reset.client_secret).not.toBe(before);
    await expect.poll(() => secret.inputValue()).toBe(reset.client_secret);

    await page.getByLabel("Read User Information").check();
    await page.getByLabel("View all visible repositories").check();
    await page.getByRole("button", { name: "Generate access token" }).click();
    await page.waitForURL("**/oauth/localapp**");
    const token = (await page.locator("#token").textContent())?.trim() ?? "";
    expect(token).not.toBe("");
    expect(await page.locator("#scope").textContent()).toContain("user:read");
    const me = await fetch(`${wharf.url}/api/v1/user/`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe("orgmoreowner");
    watched.clean();
    await watched.close();
  });

  it("adds an auto-prune policy, on a phone-sized screen", async () => {
    const watched = await userPage({ width: 390, height: 844 });
    const { page } = watched;
    await openTab(page, ORG, "autoprune", "Auto-prune policies");
    await page.getByRole("heading", { name: "No auto-prune policies" }).waitFor();
    await page.getByRole("button", { name: "Add policy" }).click();
    await page.getByLabel("Prune policy").selectOption("creation_date");
    await page.getByLabel("Prune tags older than").fill("2");
    await page.getByLabel("Unit").selectOption("w");
    await page.getByLabel("Tag pattern (optional)").fill("^dev-");
    await page.getByLabel("Tags to prune").selectOption("match");
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.getByRole("cell", { name: "Prune tags older than 2w", exact: true }).waitFor();
    const { policies } = await sessionApi(page, "GET", `/organization/${ORG}/autoprunepolicy/`);
    expect(policies).toEqual([
      expect.objectContaining({ method: "creation_date", value: "2w", tagPattern: "^dev-", tagPatternMatches: true }),
    ]);
    // Nothing wider than the phone's screen but the table, which scrolls in its own frame.
    expect(
      await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number),
    ).toBeLessThanOrEqual(390);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-autoprune");
    watched.clean();
    await watched.close();
  });

  it("lets a superuser set a quota and shows the usage; the owner sees it read-only", async () => {
    const admin = await wharf.credentialsFor("admin");
    const watched = await openPage(browser, wharf.url);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await openTab(page, ORG, "quota", "Quota");
    await page.getByRole("spinbutton", { name: "Quota size" }).fill("10");
    await page.getByLabel("Size unit").selectOption({ label: "GiB" });
    await page.getByRole("button", { name: "Set quota" }).click();
    await page.getByRole("meter", { name: "Quota consumed" }).waitFor({ state: "attached" });
    const usage = /^[1-9][\d.]* (B|KiB) of 10\.0 GiB used \(0%\)$/;
    await page.locator("figcaption", { hasText: usage }).waitFor();
    expect(Number(await page.getByRole("meter", { name: "Quota consumed" }).getAttribute("value"))).toBeGreaterThan(0);
    await page.getByLabel("Limit action").selectOption("Warning");
    await page.getByLabel("Threshold (%)").fill("80");
    await page.getByRole("button", { name: "Add limit" }).click();
    await page.getByRole("cell", { name: "80% of the quota", exact: true }).waitFor();
    await page.getByRole("button", { name: "Change the Warning limit at 80%" }).click();
    await page.getByLabel("New Warning threshold (%)").fill("85");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("cell", { name: "85% of the quota", exact: true }).waitFor();
    const [quota] = await apiCall(wharf.url, wharf.adminToken, "GET", `/organization/${ORG}/quota`);
    expect(quota).toMatchObject({ limit_bytes: 10 * 1024 ** 3, limits: [{ type: "Warning", limit_percent: 85 }] });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-quota");
    watched.clean();
    await watched.close();

    const owner = await userPage();
    await openTab(owner.page, ORG, "quota", "Quota");
    await owner.page.getByText("Only a superuser can set or change").waitFor();
    await owner.page.locator("figcaption", { hasText: usage }).waitFor();
    expect(await owner.page.getByRole("button", { name: "Add limit" }).count()).toBe(0);
    owner.clean();
    await owner.close();
  });

  it("makes an organization a proxy cache of another registry", async () => {
    const watched = await userPage();
    const { page } = watched;
    await openTab(page, CACHE_ORG, "proxycache", "Proxy cache");
    await page.getByLabel("Remote registry", { exact: true }).fill(`${upstream.host}/e2e`);
    await page.getByLabel("Expiration (seconds)").fill("3600");
    await page.getByLabel(/^Insecure/).check();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Validate and save" }).click();
    await page.getByRole("button", { name: "Remove proxy cache configuration" }).waitFor();
    await page.getByText("1 hour after the last pull").waitFor();
    const config = await sessionApi(page, "GET", `/organization/${CACHE_ORG}/proxycache`);
    expect(config).toEqual({ upstream_registry: `${upstream.host}/e2e`, expiration_s: 3600, insecure: true });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-proxycache");
    watched.clean();
    await watched.close();
  });

  it("changes the organization's email and time machine, configures organization mirroring, deletes one", async () => {
    const watched = await userPage();
    const { page } = watched;
    // With FEATURE_ORG_MIRROR the settings ask for the mirror, which this organization has none of.
    watched.expect(404, /^\/api\/v1\/organization\/orgmore(gone|mirror)?\/mirror$/);
    await openTab(page, ORG, "settings", "Settings");
    await page.getByLabel("Organization email").fill("platform@example.com");
    await page.getByLabel("Time machine").selectOption({ label: "1 week" });
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Organization settings saved").waitFor();
    const org = await sessionApi(page, "GET", `/organization/${ORG}`);
    expect(org).toMatchObject({ email: "platform@example.com", tag_expiration_s: 604_800 });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-settings");

    // Deleting one: its name must be typed before the dialog lets it go.
    await openTab(page, DOOMED_ORG, "settings", "Settings");
    await page.getByRole("button", { name: "Delete organization" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete organization" });
    const confirm = dialog.getByRole("button", { name: "Delete organization" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("Organization name").fill(DOOMED_ORG);
    await confirm.click();
    await page.waitForURL((url) => url.pathname === "/organization/");

    // Organization mirroring, on an organization that holds no repository yet.
    await openTab(page, MIRROR_ORG, "settings", "Settings");
    const mirror = page.getByRole("region", { name: "Organization mirroring" });
    await mirror.getByLabel("Source registry URL").fill(`http://${upstream.host}`);
    await mirror.getByLabel("Source namespace").fill("e2e");
    await mirror.getByLabel("Robot account").selectOption(`${MIRROR_ORG}+syncbot`);
    await mirror.getByLabel("Repository filters").fill("app-*, base");
    await mirror.getByRole("button", { name: "Start mirroring" }).click();
    await mirror.getByRole("button", { name: "Sync now" }).waitFor();
    expect(await sessionApi(page, "GET", `/organization/${MIRROR_ORG}/mirror`)).toMatchObject({
      external_registry_url: `http://${upstream.host}`,
      external_namespace: "e2e",
      robot_username: `${MIRROR_ORG}+syncbot`,
      repository_filters: ["app-*", "base"],
      is_enabled: true,
    });
    expect(await accessibilityViolations(page)).toEqual([]);

    const gone = await fetch(`${wharf.url}/api/v1/organization/${DOOMED_ORG}`, {
      headers: { Authorization: `Bearer ${wharf.adminToken}` },
    });
    expect(gone.status).toBe(404);
    watched.clean();
    await watched.close();
  });
});
