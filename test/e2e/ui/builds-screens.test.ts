/**
 * The issue #18 build screens in headless Chromium, against `npm start` for the shell, the session
 * and the repository, with the build API answered by Quay-shaped fixtures
 * (../helpers/build-fixtures.ts) through playwright's request routing: the Builds tab's list and
 * Start New Build (filedrop, the file PUT with the session's CSRF header, the build request), a
 * build page's live log (polled from where it left off, lines shown as text, polling stopped at a
 * terminal phase, a long log read page after page, downloaded as a file) and cancel. Axe and a
 * screenshot on each main screen, one at 390x844. Against the real API: builds.test.ts; the
 * triggers: triggers-screens.test.ts; security and connectors: security-screens.test.ts.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildView, routeApi, TRIGGERED_METADATA } from "../helpers/build-fixtures";
import { checkScreen, ownerScreens } from "../helpers/owner-screens";

const { base, username, repo, repoApi, ownerPage } = ownerScreens("uibld");

describe("the Builds tab", () => {
  it("lists builds, starts one from an uploaded Dockerfile and follows its live log", async () => {
    const watched = await ownerPage();
    const { page } = watched;
    const started = buildView(repo, "b0000000-0000-4000-8000-000000000004", {
      phase: "waiting",
      manual_user: username,
      tags: ["v1", "latest"],
    });
    let logReads = 0;
    let phase = "building";
    const seen = await routeApi(page, [
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/build/`
          ? {
              json: {
                builds: [
                  buildView(repo, "b0000000-0000-4000-8000-000000000001", { phase: "building", manual_user: username }),
                  buildView(repo, "b0000000-0000-4000-8000-000000000002", {
                    trigger: {
                      id: "t1",
                      service: "custom-git",
                      is_active: true,
                      build_source: "git@git.example.com:team/app.git",
                    },
                    trigger_metadata: TRIGGERED_METADATA,
                  }),
                  buildView(repo, "b0000000-0000-4000-8000-000000000003", { phase: "error", error: "COPY failed" }),
                ],
              },
            }
          : undefined,
      (r) => (r.method === "GET" && r.path === `${repoApi}/trigger/` ? { json: { triggers: [] } } : undefined),
      (r) =>
        r.method === "POST" && r.path === "/filedrop/"
          ? { json: { url: `${base}/filedrop/upload-1`, file_id: "upload-1" } }
          : undefined,
      (r) => (r.method === "POST" && r.path === `${repoApi}/build/` ? { status: 201, json: started } : undefined),
      (r) => (r.method === "GET" && r.path === `${repoApi}/build/${started.id}` ? { json: started } : undefined),
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/build/${started.id}/logs`
          ? { json: { start: 0, total: 0, logs: [] } }
          : undefined,
      (r) =>
        r.method === "DELETE" && r.path === `${repoApi}/build/${started.id}`
          ? { status: 201, json: "Okay" }
          : undefined,
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/build/b0000000-0000-4000-8000-000000000001`
          ? { json: buildView(repo, "b0000000-0000-4000-8000-000000000001", { phase, manual_user: username }) }
          : undefined,
      (r) => {
        if (r.method !== "GET" || r.path !== `${repoApi}/build/b0000000-0000-4000-8000-000000000001/logs`) return;
        logReads++;
        const start = Number(r.search.get("start") ?? 0);
        const all = [
          { message: "pulling", type: "phase" },
          { message: "Step 1/2 : FROM scratch", type: "command" },
          { message: "<script>window.pwned = true</script>" },
          { message: "building", type: "phase" },
          { message: "Successfully built" },
        ];
        // The log grows between reads: two lines, then the rest.
        const upto = logReads === 1 ? 2 : all.length;
        return { json: { start, total: upto, logs: all.slice(start, upto) } };
      },
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/build/b0000000-0000-4000-8000-000000000003`
          ? { json: buildView(repo, "b0000000-0000-4000-8000-000000000003", { phase: "error", error: "COPY failed" }) }
          : undefined,
      (r) => {
        if (r.method !== "GET" || r.path !== `${repoApi}/build/b0000000-0000-4000-8000-000000000003/logs`) return;
        // A long log comes in pages: two lines an answer, five in all.
        const start = Number(r.search.get("start") ?? 0);
        const all = ["one", "two", "three", "four", "five"].map((message) => ({ message }));
        return { json: { start, total: all.length, logs: all.slice(start, start + 2) } };
      },
    ]);
    // The file PUT is not /api/v1: answered here, its headers and body kept.
    let put: { headers: Record<string, string>; body: string } | undefined;
    await page.route(`${base}/filedrop/upload-1`, async (route, request) => {
      put = { headers: request.headers(), body: request.postData() ?? "" };
      await route.fulfill({ status: 204 });
    });

    await page.goto(`/repository/${repo}?tab=builds`);
    await page.getByRole("heading", { name: "Repository builds" }).waitFor();
    const rows = page.locator("table.builds-table tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => rows.nth(0).textContent()).toContain("Building");
    expect(await rows.nth(0).textContent()).toContain(`Manually started by ${username}`);
    expect(await rows.nth(1).getByRole("link", { name: "3d7f5e2" }).getAttribute("href")).toBe(
      TRIGGERED_METADATA.commit_info.url,
    );
    expect(await rows.nth(2).textContent()).toContain("Failed");
    await checkScreen(page, "builds-list");

    // Start New Build: filedrop, the file PUT with the CSRF header, then the build request.
    await page.getByRole("button", { name: "Start New Build" }).click();
    const dialog = page.getByRole("dialog", { name: "Start New Build" });
    await dialog.getByLabel("Dockerfile or archive").setInputFiles({
      name: "Dockerfile",
      mimeType: "text/plain",
      buffer: Buffer.from("FROM scratch\nCOPY hello /hello\n"),
    });
    await dialog.getByLabel("Tags").fill("v1, latest");
    await checkScreen(page, "builds-start-dialog");
    await dialog.getByRole("button", { name: "Start Build" }).click();
    await page.waitForURL(`**/repository/${repo}/build/${started.id}`);
    expect(seen.find((r) => r.path === "/filedrop/")?.body).toEqual({ mimeType: "text/plain" });
    expect(put?.body).toBe("FROM scratch\nCOPY hello /hello\n");
    expect(put?.headers["x-csrf-token"]).toBeTruthy();
    expect(seen.find((r) => r.method === "POST" && r.path === `${repoApi}/build/`)?.body).toEqual({
      docker_tags: ["v1", "latest"],
      file_id: "upload-1",
    });

    // A waiting build: its admin cancels it behind a confirmation.
    await page.getByText("Waiting", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Cancel build" }).click();
    await page
      .getByRole("dialog", { name: "Cancel this build?" })
      .getByRole("button", { name: "Cancel build" })
      .click();
    await expect.poll(() => seen.some((r) => r.method === "DELETE")).toBe(true);

    // A running build's log: read from where the last read ended, lines as text, then the end.
    await page.goto(`/repository/${repo}/build/b0000000-0000-4000-8000-000000000001`);
    const log = page.getByRole("log", { name: "Build log" });
    await log.getByText("Step 1/2 : FROM scratch").waitFor();
    await log.getByText("<script>window.pwned = true</script>").waitFor();
    expect(await page.evaluate(() => (globalThis as any).pwned)).toBeUndefined();
    const starts = seen.filter((r) => r.path.endsWith("000000000001/logs")).map((r) => r.search.get("start"));
    expect(starts.slice(0, 2)).toEqual(["0", "2"]);
    await checkScreen(page, "builds-build-running");
    phase = "complete";
    await page.locator('[data-phase="complete"]').waitFor();
    await log.getByText("Successfully built").waitFor();
    const readsAtEnd = logReads;
    await page.waitForTimeout(4500);
    expect(logReads - readsAtEnd).toBeLessThanOrEqual(1);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download logs" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("build-b0000000-0000-4000-8000-000000000001.log");
    const text = await readFile((await download.path())!, "utf8");
    expect(text).toContain("== Pulling ==\nStep 1/2 : FROM scratch\n<script>window.pwned = true</script>");
    await checkScreen(page, "builds-build-complete");

    // A failed build whose log is longer than one answer: every page is read, and the error shown.
    await page.goto(`/repository/${repo}/build/b0000000-0000-4000-8000-000000000003`);
    await page.getByRole("alert").getByText("COPY failed").waitFor();
    await log.getByText("five", { exact: true }).waitFor();
    expect(await log.locator(".log-line").count()).toBe(5);

    // On a phone: the build page reads without sideways scrolling, and passes axe.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`/repository/${repo}/build/b0000000-0000-4000-8000-000000000001`);
    await page.locator('[data-phase="complete"]').waitFor();
    expect(
      await page.evaluate(
        () => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth,
      ),
    ).toBe(true);
    await checkScreen(page, "builds-build-390");
    watched.clean();
    await watched.close();
  });
});
