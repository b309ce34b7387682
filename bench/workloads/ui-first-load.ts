/**
 * Workload 9: the web UI's first load in headless Chromium (Debian's, driven by playwright-core),
 * each round in a fresh browser context (nothing cached): `/signin` as a visitor, then a
 * repository page (`?tab=tags`) signed in. Reported, not asserted (issue #17, "Fast": the size
 * budget is test/workers/ui/bundle-size.test.ts): first contentful paint, the load event and the
 * bytes transferred (the page and every resource, compressed as sent), from the browser's own
 * Performance API. Wharf only: the reference registry has no UI.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import type { Context, Sample, Target, Workload } from "../lib/workload";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const REPOSITORY = "admin/bench-ui";

interface Timing {
  fcp: number;
  load: number;
  bytes: number;
  requests: number;
}

/** What the browser measured of the page it has loaded. */
function timingOf(page: Page): Promise<Timing> {
  return page.evaluate(() => {
    const perf = (globalThis as any).performance;
    const navigation = perf.getEntriesByType("navigation")[0];
    const resources = perf.getEntriesByType("resource");
    const fcp = perf.getEntriesByName("first-contentful-paint")[0];
    const bytes = [navigation, ...resources].reduce((sum: number, e: any) => sum + (e?.transferSize ?? 0), 0);
    return {
      fcp: fcp?.startTime ?? Number.NaN,
      load: navigation?.loadEventEnd ?? Number.NaN,
      bytes,
      requests: resources.length + 1,
    };
  });
}

function samplesOf(screen: string, t: Timing): Sample[] {
  return [
    { figure: `${screen}: first contentful paint`, unit: "ms", value: t.fcp, better: "lower" },
    { figure: `${screen}: load event`, unit: "ms", value: t.load, better: "lower" },
    { figure: `${screen}: bytes transferred`, unit: "KiB", value: t.bytes / 1024, better: "lower" },
    { figure: `${screen}: requests`, unit: "count", value: t.requests, better: "lower" },
  ];
}

export default function uiFirstLoad({ wharf }: Context): Workload {
  let browser: Browser | undefined;
  let admin: { username: string; password: string };
  return {
    title: "Web UI first load: /signin and a repository page, cold, in headless Chromium",
    wharfOnly: true,
    async seed(target: Target) {
      admin = await wharf!.credentialsFor("admin");
      const res = await fetch(`${target.url}/api/v1/repository`, {
        method: "POST",
        headers: { Authorization: `Bearer ${wharf!.adminToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({ namespace: "admin", repository: "bench-ui", visibility: "private", description: "" }),
      });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
      });
      return { samples: [], problems: res.status === 201 ? [] : [`creating ${REPOSITORY}: ${res.status}`] };
    },
    async run(target: Target) {
      const problems: string[] = [];
      const context = await browser!.newContext({ baseURL: target.url, viewport: { width: 1280, height: 900 } });
      const contexts = [context];
      try {
        const page = await context.newPage();
        page.on("response", (r) => {
          if (r.status() >= 500) problems.push(`${r.url()}: ${r.status()}`);
        });
        await page.goto("/signin", { waitUntil: "load" });
        await page.getByRole("heading", { name: "Sign in to Wharf" }).waitFor();
        const signin = await timingOf(page);

        // Signed in through the API (its cookie), not timed; the repository page opens in a context
        // of its own holding only that cookie, so it too loads with an empty cache.
        const signed = await context.request.post("/api/v1/signin", {
          data: { username: admin.username, password: admin.password },
        });
        if (!signed.ok()) problems.push(`sign-in: ${signed.status()}`);
        const signedIn = await browser!.newContext({
          baseURL: target.url,
          viewport: { width: 1280, height: 900 },
          storageState: await context.storageState(),
        });
        contexts.push(signedIn);
        const repoPage = await signedIn.newPage();
        await repoPage.goto(`/repository/${REPOSITORY}?tab=tags`, { waitUntil: "load" });
        await repoPage.getByRole("tab", { name: "Tags" }).waitFor();
        await repoPage.waitForLoadState("networkidle");
        const repository = await timingOf(repoPage);
        return {
          samples: [...samplesOf("/signin", signin), ...samplesOf("repository page", repository)],
          requests: signin.requests + repository.requests,
          notes: [
            "Each page opens in a fresh browser context: nothing is cached. Times are from the browser's Performance API, in ms from the navigation's start; bytes are transferSize summed over the page and its resources.",
            "`npm start` (Miniflare's assets worker) serves the UI's files uncompressed; Cloudflare's edge compresses them (gzip or Brotli), so production sends about a third of these bytes (test/workers/ui/bundle-size.test.ts measures the gzipped JavaScript).",
          ],
          problems,
        };
      } finally {
        for (const opened of contexts) await opened.close();
      }
    },
    async cleanup() {
      await browser?.close();
    },
  };
}
