/**
 * No request waterfall on the repository page (issue #17, "Fast"), checked by structure, not by
 * time: the tab's code loads alongside the repository's request, and each request of the tab
 * starts within one round trip of the repository's answer: no request both starts after the
 * repository's answer and ends before the tab's request starts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser, openPage, signIn } from "../helpers/browser";
import { apiCall } from "../helpers/api-calls";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
const REPO = "admin/firstload";
let browser: Browser;
let admin: { username: string; password: string };

beforeAll(async () => {
  const wharf = await connectWharf(base, inject("wharfStateDir"));
  admin = await wharf.credentialsFor("admin");
  await apiCall(base, wharf.adminToken, "POST", "/repository", {
    namespace: "admin",
    repository: "firstload",
    visibility: "private",
    description: "",
  });
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

interface Timed {
  path: string;
  start: number;
  end: number;
}

/** Every request the page makes from now on, with the order its start and its end happened in. */
function recordRequests(page: Page): () => Timed[] {
  let tick = 0;
  const timed = new Map<object, Timed>();
  page.on("request", (req) => {
    const url = new URL(req.url());
    timed.set(req, { path: url.pathname + url.search, start: ++tick, end: Number.POSITIVE_INFINITY });
  });
  const ended = (req: object) => {
    const entry = timed.get(req);
    if (entry) entry.end = ++tick;
  };
  page.on("requestfinished", ended);
  page.on("requestfailed", ended);
  return () => [...timed.values()];
}

/** The requests that complete a round trip after `after` ended and before `before` started. */
const between = (all: Timed[], after: Timed, before: Timed) =>
  all.filter((r) => r !== after && r !== before && r.start > after.end && r.end < before.start);

describe("the repository page's first load", () => {
  for (const tab of ["tags", "logs"]) {
    it(`starts the ${tab} tab's requests within one round trip of the repository's`, async () => {
      const watched = await openPage(browser, base);
      const { page } = watched;
      await signIn(page, admin.username, admin.password);
      const requests = recordRequests(page);
      await page.goto(`/repository/${REPO}?tab=${tab}`);
      await page.getByRole("tab", { name: tab === "tags" ? "Tags" : "Usage logs" }).waitFor();
      await page.waitForLoadState("networkidle");
      const all = requests();
      const repository = all.find((r) => r.path === `/api/v1/repository/${REPO}`);
      expect(repository, JSON.stringify(all)).toBeDefined();
      const ofTab = all.filter((r) => r.path.startsWith(`/api/v1/repository/${REPO}/`));
      if (tab === "logs") expect(ofTab.length).toBeGreaterThan(0);
      for (const request of ofTab) {
        expect(between(all, repository!, request), `${request.path} waits for them`).toEqual([]);
      }
      if (tab === "tags") {
        // The tab's chunk is asked for before the repository's answer is in.
        const chunk = all.find((r) => /\/assets\/TagsTab-[\w-]+\.js$/.test(r.path));
        expect(chunk, JSON.stringify(all)).toBeDefined();
        expect(chunk!.start).toBeLessThan(repository!.end);
      }
      watched.clean();
      await watched.close();
    });
  }
});
