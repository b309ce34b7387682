/**
 * The organization screens in headless Chromium (issue #17): a person creates an organization,
 * a team and adds a member to it, creates a robot and copies its credentials (the podman login
 * copied from the dialog logs in at /v2/auth; a regenerated token replaces it), and adds default
 * permissions; after each step the API holds what the screen said. Screenshots and axe on each
 * main screen, one of them at a phone's 390x844.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  accessibilityViolations,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
  type WatchedPage,
} from "../helpers/browser";
import { connectWharf } from "../helpers/server";
import { sessionApi, sessionRequest } from "../helpers/ui-api";

const base = inject("wharfUrl");
const host = new URL(base).host;
const run =
  Math.random()
    .toString(36)
    .replace(/[^a-z]/g, "")
    .slice(0, 5) || "run";
const orgname = `uiorg${run}`;
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let owner: { username: string; password: string };
let member: { username: string; password: string };
let watched: WatchedPage & { expect(status: number, path: RegExp): void };
let page: Page;

/** Whether `/v2/auth` accepts a name and password (token) as a registry client's login. */
async function registryLogin(name: string, token: string): Promise<number> {
  const res = await fetch(`${base}/v2/auth?service=${encodeURIComponent(host)}`, {
    headers: { Authorization: `Basic ${Buffer.from(`${name}:${token}`).toString("base64")}` },
  });
  await res.arrayBuffer();
  return res.status;
}

async function pick(page: Page, label: string, text: string, option: RegExp) {
  await page.getByLabel(label, { exact: true }).fill(text);
  await page.getByRole("option", { name: option }).click();
}

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  [owner, member] = await Promise.all([
    wharf.credentialsFor(`uiorgowner${run}`),
    wharf.credentialsFor(`uiorgmem${run}`),
  ]);
  browser = await launchBrowser();
  watched = await openPage(browser, base);
  page = watched.page;
  await signIn(page, owner.username, owner.password);
});
afterAll(async () => {
  await watched?.close();
  await browser?.close();
});

describe("the organization screens", () => {
  it("creates an organization from the list, and it is listed", async () => {
    await page.goto("/organization/");
    await page.getByRole("heading", { name: "You are not in any organization" }).waitFor();
    await page.getByRole("link", { name: "Create organization" }).click();
    await page.waitForURL("**/organizations/new");
    // A bad name is answered before the API is asked.
    await page.getByLabel("Organization name").fill("Bad Name");
    await page.getByRole("button", { name: "Create organization" }).click();
    await page.getByRole("alert").filter({ hasText: "lower-case letters" }).waitFor();
    await page.getByLabel("Organization name").fill(orgname);
    await page.getByRole("button", { name: "Create organization" }).click();
    await page.waitForURL(`**/organization/${orgname}`);
    await page.getByRole("heading", { name: orgname, level: 1 }).waitFor();
    const org = await sessionApi(page, "GET", `/organization/${orgname}`);
    expect(org.is_admin).toBe(true);
    expect(org.ordered_teams).toEqual(["owners"]);

    await page.getByRole("link", { name: "Organizations", exact: true }).first().click();
    await page.getByRole("link", { name: orgname }).waitFor();
    expect(await page.getByRole("row", { name: new RegExp(orgname) }).textContent()).toContain("Administrator");
    expect(await accessibilityViolations(page)).toEqual([]);
    watched.clean();
    // Quay's `/user/{name}` of an organization opens the organization's page (the user lookup's 404 is expected).
    watched.expect(404, /^\/api\/v1\/users\//);
    await page.goto(`/user/${orgname}`);
    await page.waitForURL(`**/organization/${orgname}`);
    await page.getByRole("heading", { name: orgname, level: 1 }).waitFor();
    watched.clean();
  });

  it("creates a team with a role, changes it, and adds a member on the team's page", async () => {
    await page.goto(`/organization/${orgname}?tab=teams`);
    await page.getByRole("button", { name: "Create new team" }).click();
    const dialog = page.getByRole("dialog", { name: "Create new team" });
    await dialog.getByLabel("Team name").fill("builders");
    await dialog.getByLabel("Description").fill("Builds and pushes");
    await dialog.getByLabel("Team role").selectOption("creator");
    await dialog.getByRole("button", { name: "Create team" }).click();
    await page.getByRole("link", { name: "builders" }).waitFor();
    let org = await sessionApi(page, "GET", `/organization/${orgname}`);
    expect(org.teams.builders).toMatchObject({ role: "creator", description: "Builds and pushes", member_count: 0 });

    // The role changes in place.
    await page.getByLabel("Role of team builders").selectOption("member");
    await page.getByText("Team builders is now Member").waitFor();
    org = await sessionApi(page, "GET", `/organization/${orgname}`);
    expect(org.teams.builders.role).toBe("member");
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-teams");

    await page.getByRole("link", { name: "builders" }).click();
    await page.waitForURL(`**/organization/${orgname}/teams/builders`);
    await page.getByRole("heading", { name: "This team has no members yet" }).waitFor();
    await pick(page, "Add a user or robot", member.username, new RegExp(member.username));
    await page.getByRole("button", { name: "Add member" }).click();
    await page.getByRole("cell", { name: member.username, exact: true }).waitFor();
    const members = await sessionApi(page, "GET", `/organization/${orgname}/team/builders/members?includePending=true`);
    expect(members.members.map((m: { name: string }) => m.name)).toEqual([member.username]);
    expect(members.members[0].invited).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);

    // The members view of the teams tab shows them with their team.
    await page.goto(`/organization/${orgname}?tab=teams`);
    await page.getByRole("button", { name: "Members view" }).click();
    await page.getByRole("row", { name: new RegExp(`${member.username}.*builders`) }).waitFor();
    watched.clean();
  });

  it("creates a robot, copies its podman login (which logs in), and regenerates its token", async () => {
    await page.goto(`/organization/${orgname}?tab=robots`);
    await page.getByRole("heading", { name: "No robot accounts yet" }).waitFor();
    await page.getByRole("button", { name: "Create robot account" }).click();
    const create = page.getByRole("dialog", { name: "Create robot account" });
    await create.getByLabel("Robot name").fill("deployer");
    await create.getByLabel("Description").fill("CI deploys");
    await create.getByRole("button", { name: "Create robot account" }).click();

    const robot = `${orgname}+deployer`;
    const dialog = page.getByRole("dialog", { name: `Credentials for ${robot}` });
    await dialog.getByLabel("Podman login", { exact: true }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-robot-credentials");

    await dialog.getByRole("button", { name: "Copy Podman login" }).click();
    const copied = await page.evaluate(() => (globalThis as any).navigator.clipboard.readText() as Promise<string>);
    const login = copied.match(/^podman login -u="([^"]+)" -p="([^"]+)" (\S+)$/);
    expect(login, copied).not.toBeNull();
    const [, name, token, registry] = login!;
    expect(name).toBe(robot);
    expect(registry).toBe(host);
    expect((await sessionApi(page, "GET", `/organization/${orgname}/robots/deployer`)).token).toBe(token);
    expect(await registryLogin(name!, token!)).toBe(200);
    expect(await registryLogin(name!, `${token}x`)).toBe(401);

    // The other formats carry the same credentials.
    expect(await dialog.getByLabel("Docker login", { exact: true }).inputValue()).toBe(
      `docker login -u="${robot}" -p="${token}" ${host}`,
    );
    const auth = Buffer.from(`${robot}:${token}`).toString("base64");
    const config = JSON.parse(
      await dialog.getByLabel("Docker configuration (config.json)", { exact: true }).inputValue(),
    );
    expect(config.auths[host].auth).toBe(auth);
    const secret = await dialog.getByLabel("Kubernetes pull secret", { exact: true }).inputValue();
    expect(secret).toContain("type: kubernetes.io/dockerconfigjson");
    expect(secret).toContain(`name: ${orgname}-deployer-pull-secret`);
    const encoded = secret.match(/\.dockerconfigjson: (\S+)/)![1]!;
    expect(JSON.parse(Buffer.from(encoded, "base64").toString()).auths[host].auth).toBe(auth);

    // Regenerating replaces the token: the old one no longer logs in, the new one does.
    await dialog.getByRole("button", { name: "Regenerate token" }).click();
    await page
      .getByRole("dialog", { name: "Regenerate token" })
      .getByRole("button", { name: "Regenerate token" })
      .click();
    await page.getByText(`A new token for ${robot}`).waitFor();
    const fresh = (await dialog.getByLabel("Robot token", { exact: true }).inputValue()).trim();
    expect(fresh).not.toBe(token);
    expect(await registryLogin(robot, token!)).toBe(401);
    expect(await registryLogin(robot, fresh)).toBe(200);
    await dialog.getByRole("button", { name: "Close" }).click();

    await page.getByRole("row", { name: new RegExp(`${orgname}\\+deployer`) }).waitFor();
    const listed = await sessionApi(page, "GET", `/organization/${orgname}/robots?token=false`);
    expect(listed.robots.map((r: { name: string; description: string }) => [r.name, r.description])).toEqual([
      [robot, "CI deploys"],
    ]);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-robots");
    watched.clean();
  });

  it("adds default permissions for anyone and for a given creator", async () => {
    await page.goto(`/organization/${orgname}?tab=defaultpermissions`);
    await page.getByRole("heading", { name: "No default permissions yet" }).waitFor();
    // By keyboard: the picker's first match is active, Enter takes it.
    await page.getByLabel("Applied to", { exact: true }).fill("build");
    await page.getByRole("option", { name: /builders/ }).waitFor();
    await page.getByLabel("Applied to", { exact: true }).press("Enter");
    expect(await page.getByLabel("Applied to", { exact: true }).inputValue()).toBe("builders");
    await page.getByLabel("Permission", { exact: true }).selectOption("write");
    await page.getByRole("button", { name: "Create default permission" }).click();
    await page.getByRole("row", { name: /Anyone.*builders/ }).waitFor();

    await page.getByLabel("When this creates a repository").selectOption("user");
    await pick(page, "Repository creator", member.username, new RegExp(member.username));
    await pick(page, "Applied to", "deploy", /deployer/);
    await page.getByLabel("Permission", { exact: true }).selectOption("read");
    await page.getByRole("button", { name: "Create default permission" }).click();
    await page.getByRole("row", { name: new RegExp(`${member.username}.*deployer`) }).waitFor();

    const { prototypes } = await sessionApi(page, "GET", `/organization/${orgname}/prototypes`);
    const summary = prototypes
      .map((p: any) => [p.activating_user?.name ?? null, p.delegate.name, p.delegate.kind, p.role])
      .sort((a: string[], b: string[]) => String(a[1]).localeCompare(String(b[1])));
    expect(summary).toEqual([
      [null, "builders", "team", "write"],
      [member.username, `${orgname}+deployer`, "user", "read"],
    ]);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "organization-defaultpermissions");
    watched.clean();
  });

  it("shows on the team's page the repository a default permission gave the team, and edits its description", async () => {
    // A repository created in the organization now: the "anyone → builders: write" default applies.
    const created = await sessionRequest(page, "POST", "/repository", {
      namespace: orgname,
      repository: "webapp",
      visibility: "private",
      description: "",
    });
    expect(created.status()).toBe(201);

    await page.goto(`/organization/${orgname}/teams/builders`);
    await page.getByRole("row", { name: /webapp.*Private.*Write/ }).waitFor();
    await page.getByRole("button", { name: "Edit description" }).click();
    await page.getByLabel("Team description").fill("Builds, pushes and deploys");
    await page.getByRole("button", { name: "Save description" }).click();
    await page.getByText("Description saved").waitFor();
    const org = await sessionApi(page, "GET", `/organization/${orgname}`);
    expect(org.teams.builders).toMatchObject({ description: "Builds, pushes and deploys", role: "member" });
    expect(await accessibilityViolations(page)).toEqual([]);
    watched.clean();
  });

  it("shows a plain member the teams and their own team's members, without admin controls or refusals", async () => {
    const other = await openPage(browser, base);
    await signIn(other.page, member.username, member.password);
    await other.page.goto(`/organization/${orgname}?tab=teams`);
    await other.page.getByRole("link", { name: "builders" }).waitFor();
    // Not a member of owners: its name shows, without a link.
    await other.page.getByRole("cell", { name: "owners" }).waitFor();
    expect(await other.page.getByRole("link", { name: "owners" }).count()).toBe(0);
    expect(await other.page.getByRole("button", { name: "Create new team" }).count()).toBe(0);
    await other.page.getByRole("link", { name: "builders" }).click();
    await other.page.getByRole("cell", { name: member.username, exact: true }).waitFor();
    expect(await other.page.getByRole("button", { name: "Add member" }).count()).toBe(0);
    expect(await other.page.getByRole("heading", { name: "Repository permissions" }).count()).toBe(0);
    expect(await accessibilityViolations(other.page)).toEqual([]);
    other.clean();
    await other.close();
  });

  it("lists every organization to a superuser, marking those they are not in", async () => {
    const admin = await wharf.credentialsFor("admin");
    const other = await openPage(browser, base);
    await signIn(other.page, admin.username, admin.password);
    await other.page.goto("/organization/");
    const row = other.page.getByRole("row", { name: new RegExp(orgname) });
    await row.waitFor();
    expect(await row.textContent()).toContain("Not a member");
    other.clean();
    await other.close();
  });

  it("fits the teams tab and the robots tab on a phone's 390x844 screen", async () => {
    const phone = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    await signIn(phone.page, owner.username, owner.password);
    for (const tab of ["teams", "robots"]) {
      await phone.page.goto(`/organization/${orgname}?tab=${tab}`);
      await phone.page
        .getByRole("tab", { name: tab === "teams" ? "Teams and membership" : "Robot accounts" })
        .waitFor();
      await phone.page.getByRole("table").first().waitFor();
      // Wide tables scroll inside their own box; the page itself does not scroll sideways.
      const width = await phone.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number);
      expect(width).toBeLessThanOrEqual(390);
      expect(await accessibilityViolations(phone.page)).toEqual([]);
    }
    await screenshot(phone.page, "organization-robots-phone");
    phone.clean();
    await phone.close();
  });

  it("removes a member, a default permission, a robot and a team, each after a confirmation", async () => {
    await page.goto(`/organization/${orgname}/teams/builders`);
    await page.getByRole("button", { name: `Remove ${member.username}` }).click();
    // Cancelling leaves the member in place.
    await page.getByRole("dialog", { name: "Remove member" }).getByRole("button", { name: "Cancel" }).click();
    expect((await sessionApi(page, "GET", `/organization/${orgname}/team/builders/members`)).members).toHaveLength(1);
    await page.getByRole("button", { name: `Remove ${member.username}` }).click();
    await page.getByRole("dialog", { name: "Remove member" }).getByRole("button", { name: "Remove" }).click();
    await page.getByRole("heading", { name: "This team has no members yet" }).waitFor();
    expect((await sessionApi(page, "GET", `/organization/${orgname}/team/builders/members`)).members).toEqual([]);

    await page.goto(`/organization/${orgname}?tab=defaultpermissions`);
    await page.getByRole("button", { name: `Delete the default permission for ${orgname}+deployer` }).click();
    await page
      .getByRole("dialog", { name: "Delete default permission" })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.getByText("Default permission deleted").waitFor();
    const { prototypes } = await sessionApi(page, "GET", `/organization/${orgname}/prototypes`);
    expect(prototypes.map((p: any) => p.delegate.name)).toEqual(["builders"]);

    await page.goto(`/organization/${orgname}?tab=robots`);
    await page.getByRole("button", { name: `Delete ${orgname}+deployer` }).click();
    await page.getByRole("dialog", { name: "Delete robot account" }).getByRole("button", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "No robot accounts yet" }).waitFor();
    expect((await sessionApi(page, "GET", `/organization/${orgname}/robots`)).robots).toEqual([]);

    await page.goto(`/organization/${orgname}?tab=teams`);
    await page.getByRole("button", { name: "Delete team builders" }).click();
    await page.getByRole("dialog", { name: "Delete team" }).getByRole("button", { name: "Delete" }).click();
    await page.getByText("Team builders deleted").waitFor();
    expect((await sessionApi(page, "GET", `/organization/${orgname}`)).ordered_teams).toEqual(["owners"]);
    watched.clean();
  });
});
