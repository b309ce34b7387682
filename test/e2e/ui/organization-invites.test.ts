/**
 * Team invitations in headless Chromium (issue #17), on a registry started with FEATURE_MAILING:
 * adding a person outside the organization on the team's page invites them (Quay's
 * REQUIRE_TEAM_INVITE), the list marks them Invited, the invitation is mailed (the dev mailer's
 * `.eml` in `<state>/mail/`), and cancelling it from the page leaves no invitation behind.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, signIn } from "../helpers/browser";
import { type RunningServer, startWharf } from "../helpers/server";
import { sessionRequest } from "../helpers/ui-api";

let wharf: RunningServer;
let browser: Browser;

beforeAll(async () => {
  [wharf, browser] = await Promise.all([startWharf({ env: { FEATURE_MAILING: "true" } }), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await wharf?.stop();
});

/** The mails written so far to `to`, by subject. */
async function subjectsTo(to: string): Promise<string[]> {
  const dir = path.join(wharf.stateDir, "mail");
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".eml"));
  const mails = await Promise.all(files.map((f) => readFile(path.join(dir, f), "utf8")));
  return mails
    .filter((raw) => new RegExp(`^To: ${to}\\r?$`, "mi").test(raw))
    .map((raw) => /^Subject: (.*?)\r?$/im.exec(raw)?.[1] ?? "");
}

describe("team invitations on the team's page", () => {
  it("invites a person outside the organization, shows them as invited, and cancels the invitation", async () => {
    // With mailing on, the accounts the superuser makes wait for their address's confirmation
    // before they may sign in: the (verified) superuser owns the organization here.
    const [owner] = await Promise.all([wharf.credentialsFor("admin"), wharf.credentialsFor("invoutsider")]);
    const watched = await openPage(browser, wharf.url);
    const { page, context } = watched;
    await signIn(page, owner.username, owner.password);
    // The organization and team are set up through the API with the page's session (the screens
    // that make them are tested in organization.test.ts).
    expect((await sessionRequest(page, "POST", "/organization/", { name: "invorg" })).status()).toBe(201);
    const team = await sessionRequest(page, "PUT", "/organization/invorg/team/readers", { role: "member" });
    expect(team.status()).toBe(200);
    const members = async () =>
      (
        await (
          await context.request.get(`${wharf.url}/api/v1/organization/invorg/team/readers/members?includePending=true`)
        ).json()
      ).members;

    await page.goto("/organization/invorg/teams/readers");
    await page.getByLabel("Add a user or robot", { exact: true }).fill("invout");
    await page.getByRole("option", { name: /invoutsider/ }).click();
    await page.getByRole("button", { name: "Add member" }).click();
    await page.getByText("invoutsider was invited to the team").waitFor();
    await page.getByRole("row", { name: /invoutsider.*Invited/ }).waitFor();
    expect(await members()).toMatchObject([{ name: "invoutsider", invited: true }]);
    expect(await accessibilityViolations(page)).toEqual([]);

    const deadline = Date.now() + 30_000;
    while (!(await subjectsTo("invoutsider@example.com")).some((s) => s.endsWith("Invitation to join team"))) {
      if (Date.now() > deadline) throw new Error(`no invitation mailed\n${wharf.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    await page.getByRole("button", { name: "Cancel invitation of invoutsider" }).click();
    await page
      .getByRole("dialog", { name: "Cancel invitation" })
      .getByRole("button", { name: "Cancel invitation" })
      .click();
    await page.getByRole("heading", { name: "This team has no members yet" }).waitFor();
    expect(await members()).toEqual([]);
    watched.clean();
    await watched.close();
  });
});
