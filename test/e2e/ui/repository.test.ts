/**
 * The repository screens in headless Chromium against `npm start` (issue #17): a user creates a
 * repository in the UI, skopeo pushes while the Tags tab is open and the tag appears without a
 * reload (the live event stream), then adds a tag, sets its expiration, labels it and deletes it
 * through the tag menu, each checked against what the API then holds; the repository list's
 * search and stars; axe on each main screen and the list at 390x844.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { login, registryHost, skopeoCopy } from "../helpers/clients";
import {
  buildImageLayout,
  buildMultiArchLayout,
  type BuiltImage,
  type BuiltIndex,
  sha256,
} from "../helpers/oci-layout";
import { runSuffix } from "../helpers/seed-commands";
import { connectWharf } from "../helpers/server";
import { sessionApi } from "../helpers/ui-api";

const base = inject("wharfUrl");
const host = registryHost(base);
const username = `uirepo${runSuffix()}`;
const repo = `${username}/app`;
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let credentials: { username: string; password: string };
let tmp: string;
let layout: string;
let image: BuiltImage;
let multiLayout: string;
let multi: BuiltIndex;

/** The alive row of `tag`, or undefined. */
async function aliveTag(page: Page, tag: string): Promise<any> {
  const answer = await sessionApi(page, "GET", `/repository/${repo}/tag/?onlyActiveTags=true&specificTag=${tag}`);
  return answer.tags[0];
}

/**
 * Pushes over /v2, by digest, a cosign-style signature artifact whose subject is `subject` (what
 * `cosign sign` writes with the OCI referrers API); its digest.
 */
async function pushSignature(subject: string): Promise<string> {
  const scope = encodeURIComponent(`repository:${repo}:pull,push`);
  const auth = await fetch(`${base}/v2/auth?service=${encodeURIComponent(host)}&scope=${scope}`, {
    headers: { Authorization: `Basic ${btoa(`${credentials.username}:${credentials.password}`)}` },
  });
  expect(auth.status).toBe(200);
  const authorized = { Authorization: `Bearer ${((await auth.json()) as { token: string }).token}` };
  const empty = Buffer.from("{}");
  const upload = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${sha256(empty)}`, {
    method: "POST",
    headers: { ...authorized, "Content-Type": "application/octet-stream" },
    body: empty,
  });
  expect(upload.status).toBe(201);
  const descriptor = { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256(empty), size: 2 };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
      config: descriptor,
      layers: [descriptor],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: subject, size: 1 },
    }),
  );
  const put = await fetch(`${base}/v2/${repo}/manifests/${sha256(manifest)}`, {
    method: "PUT",
    headers: { ...authorized, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return sha256(manifest);
}

/** Opens the tag menu of `tag` and picks `item`. */
async function tagAction(page: Page, tag: string, item: string): Promise<void> {
  await page.getByRole("button", { name: `Actions for tag ${tag}` }).click();
  await page.getByRole("button", { name: item }).click();
}

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  credentials = await wharf.credentialsFor(username);
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-ui-repo-"));
  layout = path.join(tmp, "layout");
  image = await buildImageLayout(layout, "one");
  multiLayout = path.join(tmp, "multi");
  multi = await buildMultiArchLayout(multiLayout, "multi");
  await login(host, credentials, path.join(tmp, "auth.json"), "skopeo");
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("the repository screens", () => {
  it("creates a repository, shows a skopeo push live, and adds, expires, labels and deletes tags", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, credentials.username, credentials.password);

    // Create, from the list's button.
    await page.getByRole("link", { name: "Create repository" }).click();
    await page.waitForURL("**/new");
    await page.getByLabel("Repository name").fill("app");
    await page.getByLabel("Description (Markdown)").fill("The UI test's application");
    // Private: the event stream below then needs the session cookie EventSource sends.
    await page.getByLabel(/^Private/).check();
    await page.getByRole("button", { name: "Create repository" }).click();
    await page.waitForURL(`**/repository/${repo}`);
    expect(await sessionApi(page, "GET", `/repository/${repo}`)).toMatchObject({
      namespace: username,
      name: "app",
      is_public: false,
      description: "The UI test's application",
    });

    // The Tags tab is open and empty while skopeo pushes: the tag appears without a reload.
    await page.getByRole("tab", { name: "Tags" }).click();
    await page.getByRole("heading", { name: "No tags yet" }).waitFor();
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
    await skopeoCopy(`oci:${layout}:one`, `docker://${host}/${repo}:v1`);
    await page.getByRole("rowheader", { name: "v1" }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);
    expect(new URL(page.url()).search).toBe("?tab=tags");

    // A multi-arch push appears too, its children read from the list.
    await skopeoCopy(`oci:${multiLayout}:multi`, `docker://${host}/${repo}:multi`, { all: true });
    await page.getByRole("rowheader", { name: /^multi/ }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Details of tag multi" }).click();
    for (const [child, platform] of [
      [multi.images[0]!, "linux/amd64"],
      [multi.images[1]!, "linux/arm64"],
    ] as const) {
      // Platform, the digest as the table shortens it, the size.
      await page
        .getByRole("row", { name: new RegExp(`^${platform} ${child.manifest.digest.slice(0, 19)} `) })
        .waitFor();
    }
    await page.getByRole("button", { name: "Details of tag multi" }).click();

    // Add a tag on the same manifest.
    await tagAction(page, "v1", "Add new tag");
    await page.getByLabel("New tag name").fill("stable");
    await page.getByRole("button", { name: "Create tag" }).click();
    await page.getByRole("rowheader", { name: "stable" }).waitFor();
    expect((await aliveTag(page, "stable"))?.manifest_digest).toBe(image.manifest.digest);

    // Its expiration, three days ahead (the browser's local time, as the person typed it).
    const when = await page.evaluate(() => {
      const d = new Date(Date.now() + 3 * 86_400_000);
      const pad = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    });
    const expected = await page.evaluate((v) => Math.floor(new Date(v).getTime() / 1000), when);
    await tagAction(page, "stable", "Change expiration");
    await page.getByLabel("Expires at").fill(when);
    await page.getByRole("button", { name: "Set expiration" }).click();
    await page.getByText("Tag stable expires").waitFor();
    expect((await aliveTag(page, "stable"))?.end_ts).toBe(expected);

    // Moved: a name in use, given to another manifest ("Add new tag" says it moves it).
    await tagAction(page, "multi", "Add new tag");
    await page.getByLabel("New tag name").fill("stable");
    await page.getByRole("button", { name: "Move tag" }).click();
    await page.getByText(/Tag stable moved to/).waitFor();
    expect((await aliveTag(page, "stable"))?.manifest_digest).toBe(multi.index.digest);

    // Immutability (the repository's admin).
    await tagAction(page, "multi", "Make immutable");
    await page.getByText("Tag multi is immutable").waitFor();
    expect((await aliveTag(page, "multi"))?.immutable).toBe(true);

    // Details: pull commands by digest, the signature referring to it, a label added.
    const signature = await pushSignature(image.manifest.digest);
    await page.getByRole("button", { name: "Details of tag v1" }).click();
    expect(await page.getByRole("textbox", { name: "Podman pull (by digest)" }).inputValue()).toBe(
      `podman pull ${host}/${repo}@${image.manifest.digest}`,
    );
    await page.getByRole("listitem").filter({ hasText: "Signature" }).getByTitle(signature).waitFor();
    // The security status (issue #18): the scan's, or, without FEATURE_SECURITY_SCANNER, no verdict made up.
    const { features } = (await (await page.request.get("/config")).json()) as { features: Record<string, boolean> };
    if (features.SECURITY_SCANNER) await page.getByRole("link", { name: "Security report", exact: true }).waitFor();
    else await page.getByText("Vulnerability scanning is not turned on for this registry.").waitFor();
    await page.getByLabel("Label key").fill("com.example.team");
    await page.getByLabel("Label value").fill("ui");
    await page.getByRole("button", { name: "Add label" }).click();
    await page.getByText("com.example.team=ui").waitFor();
    const labels = await sessionApi(page, "GET", `/repository/${repo}/manifest/${image.manifest.digest}/labels`);
    expect(labels.labels.map((l: any) => [l.key, l.value])).toContainEqual(["com.example.team", "ui"]);

    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-tags");

    // Delete, behind the confirmation.
    await tagAction(page, "stable", "Delete tag");
    await page.getByRole("dialog").getByRole("button", { name: "Delete tag" }).click();
    await page.getByRole("rowheader", { name: "stable" }).waitFor({ state: "detached" });
    expect(await aliveTag(page, "stable")).toBeUndefined();

    // The Information tab: description and pull commands.
    await page.getByRole("tab", { name: "Information" }).click();
    await page.getByText("The UI test's application").waitFor();
    // The newest tag's (no `latest` here): the multi-arch list, pushed after v1.
    expect(await page.getByRole("textbox", { name: "Podman pull (by tag multi)" }).inputValue()).toBe(
      `podman pull ${host}/${repo}:multi`,
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-info");

    watched.clean();
    await watched.close();
  });

  it("searches and stars in the repository list, and fits a phone", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, credentials.username, credentials.password);
    await page.goto("/new");
    // A refused name: the API's own words, and nothing created.
    watched.expect(400, /^\/api\/v1\/repository$/);
    await page.getByLabel("Repository name").fill("Tools!");
    await page.getByRole("button", { name: "Create repository" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid repository name" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/new");
    await page.getByLabel("Repository name").fill("tools");
    await page.getByLabel(/^Public/).check();
    await page.getByRole("button", { name: "Create repository" }).click();
    await page.waitForURL(`**/repository/${username}/tools`);

    await page.goto(`/repository/?namespace=${username}`);
    const row = (name: string) => page.getByRole("link", { name: `${username}/${name}`, exact: true });
    await row("tools").waitFor();
    await row("app").waitFor();
    await page.getByLabel("Search repositories").fill("too");
    await row("app").waitFor({ state: "detached" });
    expect(await row("tools").isVisible()).toBe(true);
    await page.getByLabel("Search repositories").fill("");
    await page.getByLabel("Visibility").selectOption("private");
    await row("tools").waitFor({ state: "detached" });
    expect(await row("app").isVisible()).toBe(true);
    await page.getByLabel("Visibility").selectOption("");

    const star = page.getByRole("button", { name: `Star ${username}/tools` });
    await star.click();
    await expect.poll(() => star.getAttribute("aria-pressed")).toBe("true");
    // The star shows at once; the API holds it once the POST answered.
    await expect
      .poll(async () =>
        (await sessionApi(page, "GET", "/user/starred")).repositories.map((r: any) => `${r.namespace}/${r.name}`),
      )
      .toEqual([`${username}/tools`]);

    await page.getByLabel("Starred only").check();
    await page.waitForURL(/starred=true/);
    await row("tools").waitFor();
    expect(await row("app").count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-list");
    watched.clean();
    await watched.close();

    // A phone: the list fits its width, nothing scrolls sideways but the table itself.
    const phone = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    await signIn(phone.page, credentials.username, credentials.password);
    await phone.page.goto(`/repository/?namespace=${username}`);
    await phone.page.getByRole("link", { name: `${username}/tools`, exact: true }).waitFor();
    expect(
      await phone.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
    expect(await accessibilityViolations(phone.page)).toEqual([]);
    await screenshot(phone.page, "repository-list-mobile");
    phone.clean();
    await phone.close();
  });
});
