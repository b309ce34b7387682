/**
 * The repository page's Tag history, Settings and Usage logs tabs in headless Chromium (issue #17):
 * an old tag restored from the history, a notification added, a team and a user granted, the
 * visibility changed, the usage logs showing those actions, and a repository deleted; each time the
 * API is asked what it now holds.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "../helpers/api-calls";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { registryHost } from "../helpers/clients";
import { pushOneLayerImage } from "../helpers/one-layer-image";
import { runSuffix } from "../helpers/seed-commands";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
const run = runSuffix();
const org = `uirepo${run}`;
const repo = `${org}/app`;
const doomed = `${org}/doomed`;
const mirrored = `${org}/mirrored`;
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let admin: { username: string; password: string };
/** The digests `v1` pointed at: first A, then (moved) B. */
let digestA: string;
let digestB: string;
let grantee: string;

const call = (method: string, path: string, body?: unknown) => apiCall(base, wharf.adminToken, method, path, body);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  admin = await wharf.credentialsFor("admin");
  grantee = (await wharf.credentialsFor(`uigrant${run}`)).username;
  await call("POST", "/organization/", { name: org });
  await call("PUT", `/organization/${org}/team/builders`, { role: "member", description: "" });
  // The history: v1 created on A, v2 on B, then v1 moved to B.
  digestA = await pushOneLayerImage(base, registryHost(base), admin, repo, "v1");
  digestB = await pushOneLayerImage(base, registryHost(base), admin, repo, "v2");
  await call("PUT", `/repository/${repo}/tag/v1`, { manifest_digest: digestB });
  await call("POST", "/repository", { namespace: org, repository: "doomed", visibility: "private", description: "" });
  await call("POST", "/repository", { namespace: org, repository: "mirrored", visibility: "private", description: "" });
  await call("PUT", `/organization/${org}/robots/mirrorbot`, {});
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

describe("the repository's history, settings and logs tabs", () => {
  it("restores a moved tag from the tag history", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.goto(`/repository/${repo}?tab=history`);
    const moved = page.getByRole("row").filter({ hasText: "was moved to" });
    await moved.waitFor();
    expect(await moved.textContent()).toContain(digestA.slice(0, 19));
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-history");

    // Filtering by tag keeps v2's creation out.
    await page.getByLabel("Filter by tag").fill("v2");
    await expect.poll(() => page.getByRole("row").filter({ hasText: "was moved" }).count()).toBe(0);
    await page.getByLabel("Filter by tag").fill("");
    await moved.waitFor();

    await moved.getByRole("button", { name: /^Restore v1 to/ }).click();
    const dialog = page.getByRole("dialog", { name: "Restore tag" });
    await dialog.getByRole("button", { name: "Restore tag" }).click();
    await page.getByRole("row").filter({ hasText: "was restored to" }).waitFor();
    const alive = await call("GET", `/repository/${repo}/tag/?specificTag=v1&onlyActiveTags=true`);
    expect(alive.tags[0].manifest_digest).toBe(digestA);
    watched.clean();
    await watched.close();
  });

  it("adds a notification, grants a team and a user, and changes the visibility", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.goto(`/repository/${repo}?tab=settings`);

    // A webhook notification on pushes.
    await page.getByRole("button", { name: "Create notification" }).click();
    const form = page.getByRole("dialog", { name: "Create notification" });
    await form.getByLabel("When this happens").selectOption("repo_push");
    await form.getByLabel("Then issue").selectOption("webhook");
    await form.getByLabel("Webhook URL").fill("https://hooks.example.com/wharf");
    await form.getByLabel("Title (optional)").fill("CI hook");
    await form.getByRole("button", { name: "Create notification" }).click();
    await page.getByRole("cell", { name: "CI hook", exact: true }).waitFor();
    await page.getByRole("button", { name: "Test CI hook" }).click();
    await page.getByText("Test notification queued").waitFor();
    const { notifications } = await call("GET", `/repository/${repo}/notification/`);
    expect(notifications).toEqual([
      expect.objectContaining({
        title: "CI hook",
        event: "repo_push",
        method: "webhook",
        config: { url: "https://hooks.example.com/wharf" },
      }),
    ]);

    // A build event (issue #18) with Quay's `ref-regex`: only builds of main notify.
    await page.getByRole("button", { name: "Create notification" }).click();
    await form.getByLabel("When this happens").selectOption("build_success");
    await form.getByLabel("Matching refs (regular expression, optional)").fill("heads/main");
    await form.getByLabel("Then issue").selectOption("webhook");
    await form.getByLabel("Webhook URL").fill("https://hooks.example.com/builds");
    await form.getByLabel("Title (optional)").fill("Builds of main");
    await form.getByRole("button", { name: "Create notification" }).click();
    await page.getByRole("cell", { name: "Builds of main", exact: true }).waitFor();
    const after = (await call("GET", `/repository/${repo}/notification/`)).notifications;
    expect(after).toContainEqual(
      expect.objectContaining({ event: "build_success", event_config: { "ref-regex": "heads/main" } }),
    );

    // The team builders gets write, picked by name.
    const picker = page.getByRole("combobox", { name: "Add permission for" });
    await picker.fill("build");
    await page.getByRole("option", { name: /builders/ }).click();
    await page.getByLabel("Role", { exact: true }).selectOption("write");
    await page.getByRole("button", { name: "Add permission" }).click();
    await page.getByRole("cell", { name: "builders", exact: true }).waitFor();
    // A user gets read, picked with the keyboard.
    await picker.fill(grantee);
    await page.getByRole("option", { name: new RegExp(grantee) }).waitFor();
    await picker.press("Enter");
    await page.getByLabel("Role", { exact: true }).selectOption("read");
    await page.getByRole("button", { name: "Add permission" }).click();
    await page.getByRole("cell", { name: grantee, exact: true }).waitFor();
    const teams = await call("GET", `/repository/${repo}/permissions/team/`);
    expect(teams.permissions.builders.role).toBe("write");
    const users = await call("GET", `/repository/${repo}/permissions/user/`);
    expect(users.permissions[grantee].role).toBe("read");
    // The user's role changes in place.
    await page.getByLabel(`Role of ${grantee}`).selectOption("admin");
    await expect
      .poll(async () => (await call("GET", `/repository/${repo}/permissions/user/`)).permissions[grantee].role)
      .toBe("admin");

    // The team's grant removed, after a confirmation.
    await page.getByRole("button", { name: "Remove the permission of builders" }).click();
    await page.getByRole("dialog", { name: "Remove permission" }).getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => page.getByRole("cell", { name: "builders", exact: true }).count()).toBe(0);
    expect((await call("GET", `/repository/${repo}/permissions/team/`)).permissions).toEqual({});

    // Private to public.
    await page.getByRole("button", { name: "Make public" }).click();
    await page.getByRole("button", { name: "Make private" }).waitFor();
    expect((await call("GET", `/repository/${repo}`)).is_public).toBe(true);

    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-settings");
    watched.clean();
    await watched.close();
  });

  it("shows those actions in the usage logs", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    // Log entries are written by the queue consumer: wait until the API has them, then read them.
    await expect
      .poll(async () => (await call("GET", `/repository/${repo}/logs`)).logs.map((l: { kind: string }) => l.kind), {
        timeout: 30_000,
        interval: 1_000,
      })
      .toEqual(expect.arrayContaining(["revert_tag", "add_repo_notification", "change_repo_visibility"]));
    await page.goto(`/repository/${repo}?tab=logs`);
    const expected = [
      /Tag v1 restored to/,
      /Add notification of event “repo_push”/,
      /Grant write permission for team builders/,
      /Remove permission for team builders/,
      /Change visibility for repository .* to public/,
    ];
    for (const text of expected) {
      await expect
        .poll(
          async () => {
            if ((await page.getByRole("cell", { name: text }).count()) > 0) return true;
            await page.getByRole("button", { name: "Refresh" }).click();
            return false;
          },
          { timeout: 10_000, interval: 1_000 },
        )
        .toBe(true);
    }
    await page.getByText("Actions by kind").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-logs");
    watched.clean();
    await watched.close();
  });

  it("adds an auto-prune policy, turns the repository into a mirror and sets the mirror up", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.goto(`/repository/${mirrored}?tab=settings`);
    await page.getByLabel("Prune method").selectOption("number_of_tags");
    await page.getByLabel("Tags to keep").fill("5");
    await page.getByRole("button", { name: "Add policy" }).click();
    await page.getByText("Keep the newest 5 tags").waitFor();
    const { policies } = await call("GET", `/repository/${mirrored}/autoprunepolicy/`);
    expect(policies).toEqual([expect.objectContaining({ method: "number_of_tags", value: 5, tagPattern: null })]);
    // Edited in place: a PUT replaces it, with a pattern this time.
    await page.getByRole("button", { name: "Edit policy: Keep the newest 5 tags" }).click();
    await page.getByLabel("Tags to keep").fill("7");
    await page.getByLabel("Tag pattern (optional regex)").fill("^nightly-");
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.getByText("Keep the newest 7 tags, only tags that match ^nightly-").waitFor();
    expect((await call("GET", `/repository/${mirrored}/autoprunepolicy/`)).policies).toEqual([
      expect.objectContaining({ uuid: policies[0].uuid, value: 7, tagPattern: "^nightly-", tagPatternMatches: true }),
    ]);

    await page.getByLabel("State", { exact: true }).selectOption("MIRROR");
    await page.getByRole("button", { name: "Change state" }).click();
    // A repository without a mirror yet: its GET …/mirror is Quay's 404, the tab offers the set-up.
    watched.expect(404, /\/mirror$/);
    await page.getByRole("tab", { name: "Mirroring" }).click();
    await page.getByRole("heading", { name: "Set up mirroring" }).waitFor();
    await page.getByLabel("Registry location").fill("registry.invalid/library/alpine");
    await page.getByLabel("Tags", { exact: true }).fill("latest, v1.*");
    await page.getByLabel("Robot user").selectOption(`${org}+mirrorbot`);
    await page.getByLabel("Source username").fill("puller");
    await page.getByLabel("Source password").fill("not-shown-again");
    await page.getByRole("button", { name: "Enable mirroring" }).click();
    await page.getByRole("heading", { name: "Status" }).waitFor();
    const mirror = await call("GET", `/repository/${mirrored}/mirror`);
    expect(mirror).toMatchObject({
      external_reference: "registry.invalid/library/alpine",
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["latest", "v1.*"] },
      robot_username: `${org}+mirrorbot`,
      external_registry_username: "puller",
      is_enabled: true,
    });
    expect(JSON.stringify(mirror)).not.toContain("not-shown-again");
    await page.getByRole("button", { name: "Sync now" }).click();
    await expect
      .poll(async () => (await call("GET", `/repository/${mirrored}/mirror`)).sync_status)
      .not.toBe("NEVER_RUN");
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-mirroring");
    watched.clean();
    await watched.close();
  });

  it("deletes a repository on a phone-sized screen once its name is typed", async () => {
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    const { page } = watched;
    await signIn(page, admin.username, admin.password);
    await page.goto(`/repository/${doomed}?tab=settings`);
    await page.getByRole("heading", { name: "Delete repository" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "repository-settings-phone");
    await page.getByRole("button", { name: "Delete repository" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete repository" });
    const confirm = dialog.getByRole("button", { name: "Delete repository" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("Repository name").fill(doomed);
    await confirm.click();
    await page.waitForURL((url) => url.pathname === "/repository/");
    const res = await fetch(`${base}/api/v1/repository/${doomed}`, {
      headers: { Authorization: `Bearer ${wharf.adminToken}` },
    });
    expect(res.status).toBe(404);
    watched.clean();
    await watched.close();
  });
});
