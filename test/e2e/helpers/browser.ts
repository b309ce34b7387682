/**
 * Headless Chromium for the web UI's end-to-end tests: Debian's `chromium` driven by
 * playwright-core (never a downloaded browser; ../shared/reference/tooling.md §6). Every page a
 * test opens is watched for console errors, uncaught exceptions and failed requests; `clean()`
 * fails the test on any of them. Screenshots go to dist/ui-screenshots/ (README "Web UI").
 */
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";
import { ROOT } from "./server";

export const SCREENSHOTS = path.join(ROOT, "dist", "ui-screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Everything that went wrong so far: console errors, page errors, failed requests. */
  problems: string[];
  /** Asserts nothing went wrong (and clears the list). */
  clean(): void;
  close(): Promise<void>;
}

/**
 * A new browser context (its own cookies) and page on `baseUrl`. `expected` lists request
 * failures a test provokes on purpose (a wrong password's 403): each is a status and a path
 * pattern; any other answer of 400 or more (and any 5xx) counts as a problem.
 */
export async function openPage(
  browser: Browser,
  baseUrl: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<WatchedPage & { expect(status: number, path: RegExp): void }> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    // The clipboard for the copy buttons.
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const allowed: { status: number; path: RegExp }[] = [
    // The app asks who is signed in on every load; a visitor is answered 401, as Quay does.
    { status: 401, path: /^\/api\/v1\/user\/$/ },
    { status: 401, path: /^\/csrf_token$/ },
  ];
  const isAllowed = (status: number, url: string) => {
    const { pathname } = new URL(url);
    return allowed.some((a) => a.status === status && a.path.test(pathname));
  };
  const statusOf = new Map<string, number>();
  page.on("response", (res) => {
    const url = res.url();
    if (!url.startsWith(baseUrl)) return;
    statusOf.set(url, res.status());
    if (res.status() >= 400 && !isAllowed(res.status(), url)) {
      problems.push(`${res.request().method()} ${new URL(url).pathname}: ${res.status()}`);
    }
  });
  page.on("requestfailed", (req) => {
    const failure = req.failure()?.errorText ?? "";
    // A navigation or an unmount aborts what was in flight (an event stream, a superseded load).
    if (/ERR_ABORTED/.test(failure)) return;
    problems.push(`${req.method()} ${req.url()}: ${failure}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    // Chromium logs every answer of 400 or more as a console error; those are judged above.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) return;
    problems.push(`console error: ${msg.text()}`);
  });
  return {
    page,
    context,
    problems,
    expect(status, pathPattern) {
      allowed.push({ status, path: pathPattern });
    },
    clean() {
      expect(problems, "console errors and failed requests").toEqual([]);
      problems.length = 0;
    },
    close: () => context.close(),
  };
}

/** Signs in through the sign-in form and waits for the repository list. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => url.pathname !== "/signin");
}

/** A full-page screenshot named `name` in dist/ui-screenshots/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

let axeSource: string | undefined;

/**
 * axe-core's serious and critical violations on the page as it is now. The script is evaluated
 * through the DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
    const result = await axe.run((globalThis as any).document, { resultTypes: ["violations"] });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n: any) => n.target.join(" ")),
    }));
  })) as { id: string; impact: string; help: string; targets: string[] }[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(", ")}`);
}
