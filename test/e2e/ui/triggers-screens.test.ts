import { describe, expect, it } from "vitest";
import { buildView, customGitTrigger, routeApi } from "../helpers/build-fixtures";
import { checkScreen, ownerScreens } from "../helpers/owner-screens";

const { repo, repoApi, ownerPage } = ownerScreens("uitrg");

describe("build triggers", () => {
  it("creates, sets up, runs, disables and deletes a build trigger", async () => {
    const watched = await ownerPage();
    const { page } = watched;
    const active = customGitTrigger("a0000000-0000-4000-8000-00000000000a");
    const fresh = customGitTrigger("a0000000-0000-4000-8000-00000000000b", {
      is_active: false,
      build_source: null,
      config: {},
    });
    let triggers: any[] = [active];
    const run = buildView(repo, "b0000000-0000-4000-8000-0000000000aa", {
      phase: "waiting",
      trigger: { id: active.id, service: "custom-git", is_active: true, build_source: active.build_source },
      trigger_metadata: { commit: "0123456789abcdef0123456789abcdef01234567" },
    });
    const base = `${repoApi}/trigger`;
    const seen = await routeApi(page, [
      (r) => (r.method === "GET" && r.path === `${repoApi}/build/` ? { json: { builds: [] } } : undefined),
      (r) => (r.method === "GET" && r.path === `${base}/` ? { json: { triggers } } : undefined),
      (r) => {
        if (r.method !== "POST" || r.path !== `${base}/`) return;
        triggers = [...triggers, fresh];
        return { status: 201, json: fresh };
      },
      (r) => {
        if (r.method !== "POST" || r.path !== `${base}/${fresh.id}/activate`) return;
        const done = customGitTrigger(fresh.id, { build_source: r.body.config.build_source });
        done.config = { ...done.config, ...r.body.config };
        triggers = triggers.map((t) => (t.id === fresh.id ? done : t));
        return { json: done };
      },
      (r) => (r.method === "POST" && r.path === `${base}/${active.id}/start` ? { status: 201, json: run } : undefined),
      (r) => (r.method === "GET" && r.path === `${repoApi}/build/${run.id}` ? { json: run } : undefined),
      (r) =>
        r.method === "GET" && r.path === `${repoApi}/build/${run.id}/logs`
          ? { json: { start: 0, total: 0, logs: [] } }
          : undefined,
      (r) => {
        if (r.method !== "PUT" || r.path !== `${base}/${active.id}`) return;
        triggers = triggers.map((t) =>
          t.id === active.id ? { ...t, enabled: r.body.enabled, disabled_reason: "user_toggled" } : t,
        );
        return { json: triggers[0] };
      },
      (r) => {
        if (r.method !== "DELETE" || r.path !== `${base}/${fresh.id}`) return;
        triggers = triggers.filter((t) => t.id !== fresh.id);
        return { status: 204 };
      },
    ]);

    await page.goto(`/repository/${repo}?tab=builds`);
    const activeRow = page.locator(`tr[data-trigger="${active.id}"]`);
    await activeRow.getByText("refs matching heads/main").waitFor();

    // Create a custom git trigger, then set it up in its dialog.
    await page.getByRole("button", { name: "Create Build Trigger" }).click();
    await page.getByRole("dialog", { name: "Create Build Trigger" }).getByRole("button", { name: "Create" }).click();
    const setup = page.getByRole("dialog", { name: "Set up Custom Git trigger" });
    await setup.getByLabel("Git repository URL").fill("git@git.example.com:team/other.git");
    await setup.getByLabel("Branch/tag regex (optional)").fill("heads/(main|release-.*)");
    await setup.getByLabel("Tag templates (optional)").fill(`\${commit_info.short_sha}, rel-\${parsed_ref.branch}`);
    await setup.getByLabel("Tag latest when the default branch builds").uncheck();
    await checkScreen(page, "builds-trigger-setup");
    await setup.getByRole("button", { name: "Activate Trigger" }).click();
    const credentials = page.getByRole("dialog", { name: "Trigger credentials" });
    await credentials.waitFor();
    expect(seen.find((r) => r.method === "POST" && r.path === `${base}/`)?.body).toEqual({ service: "custom-git" });
    expect(seen.find((r) => r.path.endsWith("/activate"))?.body).toEqual({
      config: {
        build_source: "git@git.example.com:team/other.git",
        branchtag_regex: "heads/(main|release-.*)",
        dockerfile_path: "/Dockerfile",
        context: "/",
        default_tag_from_ref: true,
        latest_for_default_branch: false,
        tag_templates: [`\${commit_info.short_sha}`, `rel-\${parsed_ref.branch}`],
      },
    });
    // Activated: its credentials, the deploy key and the webhook URL, to copy.
    expect(await credentials.getByRole("textbox", { name: "SSH Public Key" }).inputValue()).toMatch(/^ssh-ed25519 /);
    expect(await credentials.getByRole("textbox", { name: "Webhook Endpoint URL" }).inputValue()).toContain(
      `/webhooks/push/trigger/${fresh.id}`,
    );
    await checkScreen(page, "builds-trigger-credentials");
    await credentials.getByRole("button", { name: "Done" }).click();
    await page.locator(`tr[data-trigger="${fresh.id}"]`).getByText("git@git.example.com:team/other.git").waitFor();
    await checkScreen(page, "builds-triggers");

    // Disable the first one.
    await page.getByRole("button", { name: `Actions for trigger ${active.id}` }).click();
    await page.getByRole("button", { name: "Disable Trigger" }).click();
    await activeRow.getByText("Disabled (user toggled)").waitFor();
    expect(seen.find((r) => r.method === "PUT")?.body).toEqual({ enabled: false });

    // Delete the new one behind a confirmation.
    await page.getByRole("button", { name: `Actions for trigger ${fresh.id}` }).click();
    await page.getByRole("button", { name: "Delete Trigger" }).click();
    await page
      .getByRole("dialog", { name: "Delete this build trigger?" })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.locator(`tr[data-trigger="${fresh.id}"]`).waitFor({ state: "detached" });

    // Run a trigger now with a commit: its build's page opens.
    triggers = [{ ...active }];
    await page.reload();
    await page.getByRole("button", { name: `Actions for trigger ${active.id}` }).click();
    await page.getByRole("button", { name: "Run Trigger Now" }).click();
    const runDialog = page.getByRole("dialog", { name: "Run Trigger Now" });
    await runDialog.getByLabel("Commit SHA").fill("0123456789abcdef0123456789abcdef01234567");
    await runDialog.getByRole("button", { name: "Start Build" }).click();
    await page.waitForURL(`**/build/${run.id}`);
    expect(seen.find((r) => r.path.endsWith("/start"))?.body).toEqual({
      commit_sha: "0123456789abcdef0123456789abcdef01234567",
    });
    await page.getByText("0123456789abcdef0123456789abcdef01234567").waitFor();
    watched.clean();
    await watched.close();
  });
});
