import { describe, expect, it } from "vitest";
import { digestOf, routeApi, scannedReport, tagRow } from "../helpers/build-fixtures";
import { openPage, signIn } from "../helpers/browser";
import { checkScreen, ownerScreens } from "../helpers/owner-screens";

const screens = ownerScreens("uisec");
const { base, repo, repoApi, ownerPage } = screens;

describe("security results", () => {
  it("shows each visible manifest's status on the Tags tab, a few reads at once, and its report", async () => {
    const watched = await ownerPage();
    const { page } = watched;
    const tags = Array.from({ length: 12 }, (_, i) => tagRow(`t${i}`, digestOf(i + 1), i + 1));
    let inFlight = 0;
    let most = 0;
    const answers: Record<string, unknown> = {
      [digestOf(1)]: scannedReport(digestOf(1)),
      [digestOf(2)]: {
        status: "scanned",
        data: { Layer: { Name: digestOf(2), Features: [{ Name: "musl", Version: "1.2.4" }] } },
      },
      [digestOf(3)]: { status: "queued", data: null },
      [digestOf(4)]: { status: "unsupported", data: null },
      [digestOf(5)]: { status: "failed", data: null },
    };
    await routeApi(page, [
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/tag/`
          ? { json: { tags, page: 1, has_additional: false } }
          : undefined,
    ]);
    // The security reads: answered slowly, counting how many are in flight at once.
    await page.route(
      (url) => url.pathname.endsWith("/security"),
      async (route, request) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 250));
        const digest = decodeURIComponent(new URL(request.url()).pathname.split("/").at(-2)!);
        expect(new URL(request.url()).searchParams.get("vulnerabilities")).toBe("true");
        inFlight--;
        await route.fulfill({ json: answers[digest] ?? { status: "queued", data: null } });
      },
    );
    await page.goto(`/repository/${repo}?tab=tags`);
    const row = (name: string) =>
      page.locator("tr.tag-row", { has: page.getByRole("rowheader", { name, exact: true }) });
    await row("t0").getByText("1 Critical").waitFor();
    expect(await row("t0").getByText("1 High").count()).toBe(1);
    await row("t1").getByText("Passed").waitFor();
    await row("t2").getByText("Queued").waitFor();
    await row("t3").getByText("Unsupported").waitFor();
    await row("t4").getByText("Scan failed").waitFor();
    expect(most).toBeLessThanOrEqual(3);
    await checkScreen(page, "builds-security-tags");

    // The report: worst first, a severity filter, advisory links only when http(s), packages.
    await row("t0")
      .getByRole("link", { name: /Security report/ })
      .click();
    await page.waitForURL(`**/manifest/${digestOf(1)}?tab=securityreport`);
    const vulns = page.locator("table.vulnerabilities tbody tr");
    await expect.poll(() => vulns.count()).toBe(3);
    expect(await vulns.nth(0).textContent()).toContain("CVE-2024-0001");
    expect(await page.getByRole("link", { name: "CVE-2024-0001" }).getAttribute("href")).toBe(
      "https://security.example/CVE-2024-0001",
    );
    expect(await page.getByRole("link", { name: "CVE-2024-0002" }).count()).toBe(0);
    await checkScreen(page, "builds-security-report");
    await page.getByLabel("Severity").selectOption("Medium");
    await expect.poll(() => vulns.count()).toBe(1);
    expect(await vulns.nth(0).textContent()).toContain("busybox");
    await page.getByRole("tab", { name: "Packages" }).click();
    await expect.poll(() => page.locator("table.packages tbody tr").count()).toBe(3);
    await checkScreen(page, "builds-security-packages");
    watched.clean();
    await watched.close();
  });
});

describe("the superuser's Connectors tab", () => {
  it("lists connectors and jobs, creates one (its token shown once) and deletes one", async () => {
    const admin = await screens.wharf().credentialsFor("admin");
    const watched = await openPage(screens.browser(), base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    let connectors: any[] = [
      {
        uuid: "c0000000-0000-4000-8000-000000000001",
        name: "onprem-1",
        kinds: ["build", "scan"],
        created: new Date(Date.now() - 86_400_000).toUTCString(),
        last_seen: new Date(Date.now() - 20_000).toUTCString(),
        info: { version: "1.0.0", hostname: "builder-01", builder: "buildah", scanner: true },
      },
    ];
    const jobs = [
      {
        uuid: "j0000000-0000-4000-8000-000000000001",
        kind: "build",
        subject: "b0000000",
        state: "leased",
        attempts: 1,
        repository: repo,
        connector: { uuid: "c0000000-0000-4000-8000-000000000001", name: "onprem-1" },
        created: new Date().toUTCString(),
      },
      {
        uuid: "j0000000-0000-4000-8000-000000000002",
        kind: "scan",
        subject: digestOf(7),
        state: "queued",
        attempts: 0,
        repository: repo,
        connector: null,
        created: new Date().toUTCString(),
      },
      {
        uuid: "j0000000-0000-4000-8000-000000000003",
        kind: "scan",
        subject: digestOf(8),
        state: "failed",
        attempts: 3,
        error: "lease expired 3 times",
        connector: null,
        created: new Date().toUTCString(),
      },
    ];
    const token = `wharfc_${"x".repeat(40)}`;
    const seen = await routeApi(page, [
      (r) => (r.method === "GET" && r.path === "/superuser/connectors" ? { json: { connectors } } : undefined),
      (r) => (r.method === "GET" && r.path === "/superuser/connectors/jobs" ? { json: { jobs } } : undefined),
      (r) => {
        if (r.method !== "POST" || r.path !== "/superuser/connectors") return;
        const made = {
          uuid: "c0000000-0000-4000-8000-000000000002",
          name: r.body.name,
          kinds: r.body.kinds,
          last_seen: null,
        };
        connectors = [...connectors, made];
        return { status: 201, json: { ...made, token } };
      },
      (r) => {
        if (r.method !== "DELETE" || !r.path.startsWith("/superuser/connectors/c")) return;
        connectors = connectors.filter((c) => !r.path.endsWith(c.uuid));
        return { status: 204 };
      },
    ]);
    await page.goto("/superuser?tab=connectors");
    const first = page.locator('tr[data-connector="onprem-1"]');
    await first.getByText("builder-01").waitFor();
    // One leased job, counted from the queue.
    expect((await first.locator("td").nth(3).textContent())?.trim()).toBe("1");
    await page.locator("tr[data-job]").nth(2).getByText("lease expired 3 times").waitFor();
    await checkScreen(page, "builds-connectors");

    await page.getByRole("button", { name: "Create connector" }).click();
    const create = page.getByRole("dialog", { name: "Create connector" });
    await create.getByLabel("Name").fill("onprem-2");
    await create.getByLabel("Security scans").uncheck();
    await create.getByRole("button", { name: "Create connector" }).click();
    const shown = page.getByRole("dialog", { name: "Connector onprem-2 created" });
    expect(await shown.getByRole("textbox", { name: "Connector token" }).inputValue()).toBe(token);
    expect(seen.find((r) => r.method === "POST")?.body).toEqual({ name: "onprem-2", kinds: ["build"] });
    await checkScreen(page, "builds-connector-token");
    await shown.getByRole("button", { name: "Done" }).click();
    // Shown once: the list has no token to show again.
    await page.locator('tr[data-connector="onprem-2"]').getByText("Never").waitFor();
    expect(await page.getByText(token).count()).toBe(0);

    await page.getByRole("button", { name: "Actions for onprem-2" }).click();
    await page.getByRole("button", { name: "Delete connector" }).click();
    await page
      .getByRole("dialog", { name: "Delete connector onprem-2?" })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.locator('tr[data-connector="onprem-2"]').waitFor({ state: "detached" });
    expect(seen.some((r) => r.method === "DELETE" && r.path.endsWith("c0000000-0000-4000-8000-000000000002"))).toBe(
      true,
    );
    watched.clean();
    await watched.close();
  });
});
