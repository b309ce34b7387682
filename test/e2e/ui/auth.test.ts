/**
 * Signing in, out and up in headless Chromium (issue #17): the sign-in page's messages, signing
 * out, creating an account; then, on a registry of its own (empty, so the sign-in page offers the
 * first user's setup, and allowed to reach a small OpenID Connect provider on loopback), the setup
 * and sign-in with the external provider end to end, and attaching an external login to an account
 * with a password from its settings screen, then detaching it.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot, signIn } from "../helpers/browser";
import { LoopbackOidcProvider } from "../helpers/oidc-provider";
import { connectWharf, type RunningServer, startWharf } from "../helpers/server";

const base = inject("wharfUrl");
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

/** The account `username` as the superuser API shows it, or null. */
async function accountOf(url: string, adminToken: string, username: string) {
  const res = await fetch(`${url}/api/v1/superuser/users/${username}`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  return res.status === 200 ? ((await res.json()) as { username: string; email: string | null }) : null;
}

describe("signing in and out", () => {
  it("says so when the password is wrong, signs in with the right one and signs out", async () => {
    const user = await wharf.credentialsFor("uiauth");
    const watched = await openPage(browser, base);
    watched.expect(403, /^\/api\/v1\/signin$/);
    const { page } = watched;
    await page.goto("/signin");
    await page.getByRole("heading", { name: "Sign in to Wharf" }).waitFor();
    // FEATURE_USER_CREATION is on: the page offers to create an account.
    await page.getByRole("link", { name: "Create account" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "auth-signin");

    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Invalid username or password.");
    expect(new URL(page.url()).pathname).toBe("/signin");

    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/repository/");
    await page.getByRole("button", { name: user.username }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/signin");
    // The session is over: the registry no longer knows the browser.
    const status = await page.evaluate(async () => (await fetch("/api/v1/user/")).status);
    expect(status).toBe(401);
    await page.goto("/new");
    await page.waitForURL((url) => url.pathname === "/signin");
    watched.clean();
    await watched.close();
  });

  it("creates an account, which is then signed in", async () => {
    const name = `newcomer${Date.now().toString(36)}`;
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    watched.expect(400, /^\/api\/v1\/user\/$/);
    const { page } = watched;
    await page.goto("/signin");
    await page.getByRole("link", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Create account" }).waitFor();
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("E-mail address").fill(`${name}@example.com`);
    await page.getByLabel("Password", { exact: true }).fill("newcomer-password-1");
    await page.getByLabel("Confirm password").fill("newcomer-password-1");
    expect(await accessibilityViolations(page)).toEqual([]);
    // No sideways scrolling on a phone.
    expect(
      await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number),
    ).toBeLessThanOrEqual(390);
    await screenshot(page, "auth-createaccount");
    await page.getByLabel("Confirm password").fill("another-password-1");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("The passwords do not match.");
    // A name taken is the API's own refusal.
    await page.getByLabel("Username").fill("uiauth");
    await page.getByLabel("Confirm password").fill("newcomer-password-1");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("already exists");
    await page.getByLabel("Username").fill(name);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL("**/repository/");
    await page.getByRole("button", { name }).waitFor();
    expect(await accountOf(base, wharf.adminToken, name)).toMatchObject({
      username: name,
      email: `${name}@example.com`,
    });
    watched.clean();
    await watched.close();
  });
});

describe("a new registry with an external OpenID Connect provider", () => {
  const provider = new LoopbackOidcProvider("wharf-e2e", "e2e-client-secret");
  let own: RunningServer;

  beforeAll(async () => {
    await provider.start();
    // A state directory whose test identities say "made already", so the registry stays empty
    // for the browser to set up.
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "wharf-e2e-auth-"));
    await writeFile(path.join(stateDir, "e2e-identities.json"), JSON.stringify({ adminToken: "unused", users: {} }));
    own = await startWharf({
      stateDir,
      env: {
        ALLOW_PRIVATE_OUTBOUND: `127.0.0.1:${provider.port}`,
        OIDC_PROVIDERS: JSON.stringify([
          { id: "testsso", title: "Test SSO", issuer: provider.issuer, client_id: provider.clientId },
        ]),
        OIDC_CLIENT_SECRETS: JSON.stringify({ testsso: provider.clientSecret }),
      },
    });
  });
  afterAll(async () => {
    await own?.stop();
    await provider.stop();
  });

  it("sets up the first user, then signs a person in through the provider", async () => {
    const watched = await openPage(browser, own.url);
    watched.expect(400, /^\/oauth2\/testsso\/callback$/);
    const { page } = watched;
    await page.goto("/");
    await page.getByRole("heading", { name: "Set up Wharf" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "auth-setup");
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("E-mail address").fill("admin@example.com");
    await page.getByLabel("Password", { exact: true }).fill("first-admin-password");
    await page.getByLabel("Confirm password").fill("first-admin-password");
    await page.getByRole("button", { name: "Create superuser" }).click();
    await page.waitForURL("**/repository/");
    await page.getByRole("button", { name: "admin" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/signin");

    // The person declines at the provider: the registry says so and signs no one in.
    provider.decline = true;
    await page.getByRole("button", { name: "Sign in with Test SSO" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "auth-signin-external");
    await page.getByRole("button", { name: "Sign in with Test SSO" }).click();
    await page.getByRole("heading", { name: "Could not sign in with Test SSO" }).waitFor();
    await page.getByText("access_denied").waitFor();
    provider.decline = false;

    await page.goto("/signin");
    await page.getByRole("button", { name: "Sign in with Test SSO" }).click();
    await page.waitForURL("**/repository/");
    await page.getByRole("button", { name: "oidc.person" }).waitFor();
    watched.clean();
    await watched.close();

    // The account the provider's subject got, as the superuser sees it.
    const signin = await fetch(`${own.url}/api/v1/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "first-admin-password" }),
    });
    const cookie = signin.headers.getSetCookie()[0]!.split(";")[0]!;
    const person = await fetch(`${own.url}/api/v1/superuser/users/oidc.person`, { headers: { Cookie: cookie } });
    expect(person.status).toBe(200);
    expect(await person.json()).toMatchObject({ username: "oidc.person", email: "oidc.person@example.com" });
  });

  it("attaches an external login from the account settings, signs in with it, then detaches it", async () => {
    // An account with a password, made by the superuser set up above.
    const admin = await fetch(`${own.url}/api/v1/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "first-admin-password" }),
    });
    const adminCookie = admin.headers.getSetCookie()[0]!.split(";")[0]!;
    const csrf = await fetch(`${own.url}/csrf_token`, { headers: { Cookie: adminCookie } });
    const { csrf_token } = (await csrf.json()) as { csrf_token: string };
    const created = await fetch(`${own.url}/api/v1/superuser/users`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: adminCookie, "X-CSRF-Token": csrf_token },
      body: JSON.stringify({ username: "linker", email: "linker@example.com" }),
    });
    expect(created.status).toBe(200);
    const { password } = (await created.json()) as { password: string };
    // Another subject than the one that signed in above (that one has an account of its own).
    provider.person = { sub: "person-2", preferred_username: "linker.sso", email: "linker.sso@example.com" };

    const watched = await openPage(browser, own.url);
    const { page } = watched;
    /** The signed-in account's view and log kinds, from inside the browser (its session). */
    const logins = () =>
      page.evaluate(async () => {
        const user = (await (await fetch("/api/v1/user/")).json()) as { username: string; logins: unknown[] };
        return { username: user.username, logins: user.logins };
      });
    const logKinds = () =>
      page.evaluate(async () => {
        const body = (await (await fetch("/api/v1/user/logs")).json()) as { logs: { kind: string }[] };
        return body.logs.map((log) => log.kind);
      });

    await signIn(page, "linker", password);
    await page.goto("/user/linker?tab=settings");
    const section = page.getByRole("region", { name: "External logins" });
    await section.getByRole("heading", { name: "External logins" }).waitFor();
    const row = section.getByRole("row", { name: /Test SSO/ });
    await row.getByText("Not attached").waitFor();
    await section.getByRole("button", { name: "Attach Test SSO" }).click();
    // The provider vouches for the person at once and sends the browser back to the settings page.
    await page.waitForURL((url) => url.pathname === "/user/linker" && url.searchParams.get("tab") === "settings");
    await row.getByText("Attached as linker.sso").waitFor();
    await section.getByRole("button", { name: "Detach Test SSO" }).waitFor();
    expect(await logins()).toMatchObject({
      username: "linker",
      logins: [{ service: "testsso", service_identifier: "person-2" }],
    });
    await expect.poll(logKinds, { timeout: 20_000, interval: 500 }).toContain("external_login_attach");
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "account-external-logins");

    // Signing in with the provider now reaches this account.
    await page.getByRole("button", { name: "linker", exact: true }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/signin");
    await page.getByRole("button", { name: "Sign in with Test SSO" }).click();
    await page.waitForURL("**/repository/");
    await page.getByRole("button", { name: "linker", exact: true }).waitFor();
    expect((await logins()).username).toBe("linker");

    // Detaching, confirmed first.
    await page.goto("/user/linker?tab=settings");
    await section.getByRole("button", { name: "Detach Test SSO" }).click();
    const dialog = page.getByRole("dialog", { name: "Detach external login" });
    await dialog.getByText("Signing in with Test SSO will no longer reach this account.").waitFor();
    await dialog.getByRole("button", { name: "Detach", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.getByText("Not attached").waitFor();
    await section.getByRole("button", { name: "Attach Test SSO" }).waitFor();
    expect(await logins()).toMatchObject({ username: "linker", logins: [] });
    await expect.poll(logKinds, { timeout: 20_000, interval: 500 }).toContain("external_login_detach");
    watched.clean();
    await watched.close();
  });
});
