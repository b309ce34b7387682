/**
 * Security results in headless Chromium against its own `npm start` with FEATURE_SECURITY_SCANNER
 * on and the real scan API (issue #18), the test playing the connector's calls
 * (../helpers/connector-calls.ts) with a Clair v4 VulnerabilityReport of its own making: three
 * images pushed with skopeo, one scanned with vulnerabilities, one scanned clean, one left queued;
 * the Tags tab shows "1 Critical, 1 High, 1 Medium", "Passed" and "Queued", and the third turns
 * "Passed" as its scan ends, without a reload; the security report
 * lists the vulnerabilities worst first with their packages, versions and fixes, links only the
 * http(s) advisories, filters by severity, and lists the packages. A superuser's Connectors tab
 * shows the connector and the job queue. The same screens against routed answers:
 * security-screens.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { login, registryHost, skopeoCopy } from "../helpers/clients";
import { clairReport, connectorSession } from "../helpers/connector-calls";
import { type BuiltImage, buildImageLayout } from "../helpers/oci-layout";
import { runSuffix } from "../helpers/seed-commands";
import { type RunningServer, startWharf } from "../helpers/server";

const username = `uiscan${runSuffix()}`;
const repo = `${username}/app`;
let wharf: RunningServer;
let browser: Browser;
let tmp: string;
const images: Record<string, BuiltImage> = {};

async function checkScreen(page: Page, name: string) {
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, name);
}

beforeAll(async () => {
  [wharf, browser] = await Promise.all([
    startWharf({
      env: { FEATURE_SECURITY_SCANNER: "true", SECURITY_SCANNER_V4_PSK: Buffer.from("ui-test-psk").toString("base64") },
    }),
    launchBrowser(),
  ]);
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-ui-scan-"));
  const credentials = await wharf.credentialsFor(username);
  await login(registryHost(wharf.url), credentials, path.join(tmp, "auth.json"), "skopeo");
  for (const tag of ["vulnerable", "clean", "waiting"]) {
    images[tag] = await buildImageLayout(path.join(tmp, tag), tag, { layers: 1 });
    await skopeoCopy(`oci:${path.join(tmp, tag)}:${tag}`, `docker://${registryHost(wharf.url)}/${repo}:${tag}`);
  }
});

afterAll(async () => {
  await browser?.close();
  await wharf?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("security results in the UI", () => {
  it("shows the scans' results on the Tags tab and the security report", async () => {
    // The connector scans two of the three pushed manifests.
    const connector = await connectorSession(wharf.url, wharf.adminToken, "uiscanner", ["scan"]);
    const scanned = new Set<string>();
    for (const tag of ["vulnerable", "clean"]) {
      const image = images[tag]!;
      const job = await connector.leaseWhere("scan", (j) => j.scan?.manifest === image.manifest.digest);
      const report = clairReport(image.manifest.digest, image.layers[0]!.digest);
      if (tag === "clean") {
        report.vulnerabilities = {} as typeof report.vulnerabilities;
        report.package_vulnerabilities = {} as typeof report.package_vulnerabilities;
      }
      await connector.complete(job, { status: "scanned", indexer_state: "ui-test", report });
      scanned.add(tag);
    }

    const watched = await openPage(browser, wharf.url);
    const { page } = watched;
    const credentials = await wharf.credentialsFor(username);
    await signIn(page, credentials.username, credentials.password);
    await page.goto(`/repository/${repo}?tab=tags`);
    const row = (name: string) =>
      page.locator("tr.tag-row", { has: page.getByRole("rowheader", { name, exact: true }) });
    await row("vulnerable").getByText("1 Critical").waitFor();
    expect(await row("vulnerable").getByText("1 High").count()).toBe(1);
    expect(await row("vulnerable").getByText("1 Medium").count()).toBe(1);
    await row("clean").getByText("Passed").waitFor();
    await row("waiting").getByText("Queued").waitFor();
    await checkScreen(page, "security-real-tags");

    // The third scan ends while the tab is open: its status changes without a reload (manifest_scanned).
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
    const waiting = images.waiting!;
    const job = await connector.leaseWhere("scan", (j) => j.scan?.manifest === waiting.manifest.digest);
    const clean = clairReport(waiting.manifest.digest, waiting.layers[0]!.digest);
    clean.vulnerabilities = {} as typeof clean.vulnerabilities;
    clean.package_vulnerabilities = {} as typeof clean.package_vulnerabilities;
    await connector.complete(job, { status: "scanned", indexer_state: "ui-test", report: clean });
    await row("waiting").getByText("Passed").waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);

    await row("vulnerable")
      .getByRole("link", { name: /Security report/ })
      .click();
    await page.waitForURL(`**/manifest/${images.vulnerable!.manifest.digest}?tab=securityreport`);
    const vulns = page.locator("table.vulnerabilities tbody tr");
    await expect.poll(() => vulns.count()).toBe(3);
    expect(await vulns.nth(0).textContent()).toContain("CVE-2024-0001");
    expect(await vulns.nth(0).textContent()).toContain("3.1.4-r0");
    expect(await page.getByRole("link", { name: "CVE-2024-0001" }).getAttribute("href")).toBe(
      "https://security.example/CVE-2024-0001",
    );
    expect(await page.getByRole("link", { name: "CVE-2024-0002" }).count()).toBe(0);
    await checkScreen(page, "security-real-report");
    await page.getByLabel("Severity").selectOption("High");
    await expect.poll(() => vulns.count()).toBe(1);
    await page.getByRole("tab", { name: "Packages" }).click();
    await page.getByRole("rowheader", { name: "busybox" }).waitFor();
    expect(await page.locator("table.packages tbody tr").count()).toBe(3);
    watched.clean();
    await watched.close();
  });

  it("shows the connector and its job queue to a superuser", async () => {
    const watched = await openPage(browser, wharf.url);
    const { page } = watched;
    const admin = await wharf.credentialsFor("admin");
    await signIn(page, admin.username, admin.password);
    await page.goto("/superuser?tab=connectors");
    await page.locator('tr[data-connector="uiscanner"]').getByRole("cell", { name: "scan", exact: true }).waitFor();
    // The three scans, done by it.
    const scan = page.locator("tr[data-job]", { hasText: images.waiting!.manifest.digest });
    await scan.getByText("done", { exact: true }).waitFor();
    expect(await scan.getByText("uiscanner").count()).toBe(1);
    await checkScreen(page, "security-real-connectors");
    watched.clean();
    await watched.close();
  });
});
