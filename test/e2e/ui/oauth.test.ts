/**
 * OAuth as Quay has it, in headless Chromium against `npm start` (issue #17): an application made
 * through the API; a user opens its `/oauth/authorize` link, signs in, reads the consent screen
 * and authorizes; the application's server (this test, with fetch) exchanges the code with its
 * client id and secret; the token works on the API. Also the implicit grant, the immediate
 * redirect of an application already authorized, Cancel, and the error page of a bad request.
 * The application's redirect URI is a small server of this test's own.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { accessibilityViolations, launchBrowser, openPage, screenshot } from "../helpers/browser";
import { apiCall } from "../helpers/api-calls";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
let REDIRECT: string;
let CLIENT_HOST: string;
let callbackServer: Server;
const APP_NAME = "Deploy Dashboard";
let browser: Browser;
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let app: { client_id: string; client_secret: string };
let user: { username: string; password: string };

const asAdmin = (method: string, path: string, body: unknown) => apiCall(base, wharf.adminToken, method, path, body);

beforeAll(async () => {
  // The application's callback page (a redirect's target is fetched from the network).
  callbackServer = createServer((_, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>Callback</title><p>Back at the application</p>");
  });
  await new Promise<void>((resolve) => callbackServer.listen(0, "127.0.0.1", resolve));
  CLIENT_HOST = `127.0.0.1:${(callbackServer.address() as AddressInfo).port}`;
  REDIRECT = `http://${CLIENT_HOST}/oauth/callback`;
  wharf = await connectWharf(base, inject("wharfStateDir"));
  browser = await launchBrowser();
  await asAdmin("POST", "/organization/", { name: "oauthe2e", email: "oauthe2e@example.com" });
  app = await asAdmin("POST", "/organization/oauthe2e/applications", {
    name: APP_NAME,
    description: "Shows what is deployed where",
    application_uri: "https://client.example/",
    redirect_uri: REDIRECT,
  });
  user = await wharf.credentialsFor("oauthperson");
});
afterAll(async () => {
  await browser?.close();
  callbackServer?.close();
});

const authorizeUrl = (params: Record<string, string>) =>
  `/oauth/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: REDIRECT, ...params })}`;

/** Waits for the browser to land on the application's callback and returns its URL. */
async function landed(page: Page): Promise<URL> {
  await page.waitForURL((url) => url.host === CLIENT_HOST);
  return new URL(page.url());
}

async function bearer(token: string) {
  const res = await fetch(`${base}/api/v1/user/`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { username?: string } };
}

describe("OAuth in the browser", () => {
  it("authorizes an application with a code its server exchanges for a working token", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await page.goto(authorizeUrl({ scope: "repo:read user:read", response_type: "code", state: "s-code" }));
    // Not signed in: to the sign-in page, and back to the consent screen after it.
    await page.waitForURL((url) => url.pathname === "/signin");
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: `Authorize ${APP_NAME}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/oauth/authorize");
    await page.getByText("View all visible repositories", { exact: true }).waitFor();
    await page.getByText("Read User Information", { exact: true }).waitFor();
    await page.getByText("oauthe2e", { exact: true }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "oauth-consent");

    await page.getByRole("button", { name: "Authorize application" }).click();
    const callback = await landed(page);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT);
    expect(callback.searchParams.get("state")).toBe("s-code");
    const code = callback.searchParams.get("code")!;
    expect(code).toMatch(/^[A-Za-z0-9]{40}$/);

    // The application's server: the code and its client credentials, once.
    const exchange = () =>
      fetch(`${base}/oauth/access_token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          client_id: app.client_id,
          client_secret: app.client_secret,
          redirect_uri: REDIRECT,
        }),
      });
    const answer = await exchange();
    expect(answer.status).toBe(200);
    const token = (await answer.json()) as { access_token: string; token_type: string; scope: string };
    expect(token).toMatchObject({ token_type: "Bearer", scope: "repo:read user:read" });
    expect(await bearer(token.access_token)).toEqual({
      status: 200,
      body: expect.objectContaining({ username: user.username }),
    });
    // A second use of the code fails and takes the token with it.
    expect(((await (await exchange()).json()) as { error: string }).error).toBe("invalid_grant");
    expect((await bearer(token.access_token)).status).toBe(401);
    watched.clean();
    await watched.close();
  });

  it("grants a token (implicit grant) from the consent screen by keyboard, then redirects at once when asked again", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signInAt(page);
    await page.goto(authorizeUrl({ scope: "user:read repo:write", response_type: "token", state: "s-token" }));
    await page.getByRole("heading", { name: `Authorize ${APP_NAME}` }).waitFor();
    await page.getByRole("button", { name: "Authorize application" }).focus();
    await page.keyboard.press("Enter");
    const callback = await landed(page);
    const fragment = new URLSearchParams(callback.hash.slice(1));
    expect(callback.searchParams.get("scope")).toBe("user:read repo:write");
    expect(fragment.get("state")).toBe("s-token");
    expect((await bearer(fragment.get("access_token")!)).body.username).toBe(user.username);

    // Authorized already with these scopes: no consent screen this time.
    await page.goto(authorizeUrl({ scope: "user:read", response_type: "token" }));
    const again = await landed(page);
    expect((await bearer(new URLSearchParams(again.hash.slice(1)).get("access_token")!)).status).toBe(200);
    watched.clean();
    await watched.close();
  });

  it("cancels back to the application with access_denied, and works on a phone-sized screen", async () => {
    const watched = await openPage(browser, base, { viewport: { width: 390, height: 844 } });
    const { page } = watched;
    await signInAt(page);
    await page.goto(authorizeUrl({ scope: "org:admin", response_type: "code", state: "s-cancel" }));
    await page.getByRole("heading", { name: `Authorize ${APP_NAME}` }).waitFor();
    await page.getByText(/Some of these permissions are dangerous/).waitFor();
    expect(
      await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth as number),
    ).toBeLessThanOrEqual(390);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, "oauth-consent-phone");
    await page.getByRole("button", { name: "Cancel" }).click();
    const callback = await landed(page);
    expect([...callback.searchParams]).toEqual([
      ["error", "access_denied"],
      ["state", "s-cancel"],
    ]);
    watched.clean();
    await watched.close();
  });

  it("shows an error page, and redirects nowhere, for an unknown client or a redirect URI not registered", async () => {
    const watched = await openPage(browser, base);
    const { page } = watched;
    await signInAt(page);
    watched.expect(400, /^\/oauth\/authorize$/);
    const unknown = await page.goto(
      `/oauth/authorize?client_id=NOSUCHAPP&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=repo:read`,
    );
    expect(unknown!.status()).toBe(400);
    await page
      .getByRole("alert")
      .getByText(/Unknown client_id/)
      .waitFor();
    const evil = await page.goto(authorizeUrl({ redirect_uri: "https://evil.example/", scope: "repo:read" }));
    expect(evil!.status()).toBe(400);
    await page
      .getByRole("alert")
      .getByText(/Invalid redirect URI/)
      .waitFor();
    expect(new URL(page.url()).host).toBe(new URL(base).host);
    expect(await accessibilityViolations(page)).toEqual([]);
    watched.clean();
    await watched.close();
  });
});

async function signInAt(page: Page) {
  await page.goto("/signin");
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname !== "/signin");
}
