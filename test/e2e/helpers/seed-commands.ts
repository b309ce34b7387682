/**
 * Running Quay's documented curl examples as written: a bearer token minted the way Quay's UI
 * mints one (a signed-in session creates an organization and an OAuth application in it, then
 * `POST /oauth/authorizeapp` redirects with `#access_token=…`), and the command lines run with
 * bash and the real `curl` binary, only their placeholders filled in.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "vitest";

const exec = promisify(execFile);

/** Quay's `format_date` (RFC 2822 in UTC, as Quay writes it). */
export const QUAY_DATE = /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/;

/** A short lowercase suffix that keeps one run's names apart from another's on the shared registry. */
export function runSuffix(): string {
  return (
    Math.random()
      .toString(36)
      .replace(/[^a-z]/g, "")
      .slice(0, 6) || "run"
  );
}

/**
 * How the documentation spells the registry's address, longest first. Where a documented command
 * names a real registry host, the test file writes `<quay-server.example.com>` in its place (no
 * registry host is named in this repository) and says so beside the command.
 */
const DOCUMENTED_ORIGINS = ["https://<quay-server.example.com>", "https://quay-server.example.com"];
const DOCUMENTED_HOSTS = ["<quay-server.example.com>"];
/** The bearer token's placeholders across the documentation. */
const TOKEN_PLACEHOLDERS = [
  "<bearer_token>",
  "<insert token here>",
  "<your_access_token>",
  "<access_token>",
  "<token>",
  "{token}",
];

/**
 * The helpers bound to the registry at `base`; `token` gives the bearer token the commands carry
 * (read when a command runs, so it may be minted in a `beforeAll`).
 */
export function seedCommands(base: string, token: () => string) {
  const hostPort = new URL(base).host;

  /** A signed-in browser session: its cookie and CSRF token. */
  async function signIn(username: string, password: string) {
    const res = await fetch(`${base}/api/v1/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const csrf = (
      (await (await fetch(`${base}/csrf_token`, { headers: { Cookie: cookie } })).json()) as { csrf_token: string }
    ).csrf_token;
    return { cookie, csrf };
  }

  /** Mints an OAuth token as Quay's UI does (Organization → Applications → Generate Token). */
  async function mintToken(username: string, password: string, scopes: string[]): Promise<string> {
    const { cookie, csrf } = await signIn(username, password);
    const session = { Cookie: cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json" };
    const org = `tokens${runSuffix()}`;
    expect(
      (
        await fetch(`${base}/api/v1/organization/`, {
          method: "POST",
          headers: session,
          body: JSON.stringify({ name: org }),
        })
      ).status,
    ).toBe(201);
    const app = await fetch(`${base}/api/v1/organization/${org}/applications`, {
      method: "POST",
      headers: session,
      body: JSON.stringify({ name: "seed examples", redirect_uri: `${base}/oauth/localapp` }),
    });
    expect(app.status).toBe(200);
    const { client_id } = (await app.json()) as { client_id: string };
    const form = new URLSearchParams({
      client_id,
      redirect_uri: `${base}/oauth/localapp`,
      scope: scopes.join(" "),
      response_type: "token",
      _csrf_token: csrf,
    });
    const res = await fetch(`${base}/oauth/authorizeapp`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: form,
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    const fragment = new URLSearchParams(new URL(res.headers.get("Location")!).hash.slice(1));
    return fragment.get("access_token")!;
  }

  /**
   * Runs a documented command line with bash, the registry's address, `values` (placeholder →
   * value, in order) and the token filled in; returns curl's stdout.
   */
  async function documented(command: string, values: Record<string, string> = {}): Promise<string> {
    let line = command;
    for (const origin of DOCUMENTED_ORIGINS) line = line.replaceAll(origin, base);
    for (const host of DOCUMENTED_HOSTS) line = line.replaceAll(host, hostPort);
    for (const [placeholder, value] of Object.entries(values)) line = line.replaceAll(placeholder, value);
    for (const placeholder of TOKEN_PLACEHOLDERS) line = line.replaceAll(placeholder, token());
    const { stdout } = await exec("bash", ["-c", line], { timeout: 30_000 });
    return stdout;
  }

  return { hostPort, signIn, mintToken, documented };
}
