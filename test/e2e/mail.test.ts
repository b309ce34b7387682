/**
 * Mail against `npm start` (issue #15): a registry started with FEATURE_MAILING=true writes each
 * mail as an `.eml` into `<state>/mail/` (the dev mailer, MAIL_TRANSPORT=dev, npm start's default),
 * and this test reads them there, as a person would: an invited address signs up, confirms it
 * through the mailed link, joins the team with the invitation's code, then recovers the account.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { type RunningServer, startWharf } from "./helpers/server";

let wharf: RunningServer;

beforeAll(async () => {
  wharf = await startWharf({ env: { FEATURE_MAILING: "true" } });
});

afterAll(async () => {
  await wharf?.stop();
});

interface Eml {
  file: string;
  headers: Record<string, string>;
  body: string;
}

async function readEmls(): Promise<Eml[]> {
  const dir = path.join(wharf.stateDir, "mail");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".eml")).sort();
  return Promise.all(
    files.map(async (file) => {
      const raw = await readFile(path.join(dir, file), "utf8");
      const [head = "", ...rest] = raw.split("\r\n\r\n");
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n")) {
        const at = line.indexOf(":");
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      return { file, headers, body: rest.join("\r\n\r\n") };
    }),
  );
}

/** The mail to `to` with `subject`, once the queue consumer has written it (a second or so). */
async function mailFor(to: string, subject: string, after = new Set<string>()): Promise<Eml> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = (await readEmls()).find(
      (m) => !after.has(m.file) && m.headers.to === to && m.headers.subject === subject,
    );
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail "${subject}" to ${to}\n${wharf.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const linkIn = (mail: Eml, page: string) => {
  const link = new RegExp(`(http://\\S+/${page}\\?code=[A-Za-z0-9]+)`).exec(mail.body)?.[1];
  if (!link) throw new Error(`no /${page} link in ${mail.body}`);
  return link;
};

/** Follows a mailed link as a browser: the session cookie it sets, and its CSRF token. */
async function follow(
  link: string,
): Promise<{ status: number; location: string | null; headers: Record<string, string> }> {
  const res = await fetch(link, { redirect: "manual" });
  const cookie = (res.headers.get("Set-Cookie") ?? "").split(";")[0]!;
  const csrf = (await (await fetch(`${wharf.url}/csrf_token`, { headers: { Cookie: cookie } })).json()) as {
    csrf_token: string;
  };
  return {
    status: res.status,
    location: res.headers.get("Location"),
    headers: { Cookie: cookie, "X-CSRF-Token": csrf.csrf_token, "Content-Type": "application/json" },
  };
}

describe("mail through npm start's dev mailer", () => {
  it("an invited address signs up, confirms, joins with the mailed code, and recovers its password", async () => {
    const admin = wharf.adminToken;
    await apiCall(wharf.url, admin, "POST", "/organization/", { name: "crew", email: "crew@example.com" });
    await apiCall(wharf.url, admin, "PUT", "/organization/crew/team/deck", { role: "member" });
    await apiCall(wharf.url, admin, "PUT", "/organization/crew/team/deck/invite/sailor@example.com");
    const invitation = await mailFor("sailor@example.com", "[Wharf] Invitation to join team");
    expect(invitation.headers.from).toBe("wharf@localhost");
    expect(invitation.file).toMatch(/^\d{8}T\d{9}Z-[0-9a-f-]{36}\.eml$/);
    const inviteCode = /confirminvite\?code=([A-Z0-9]{64})/.exec(invitation.body)?.[1];
    expect(inviteCode).toBeDefined();

    const signUp = await fetch(`${wharf.url}/api/v1/user/`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "sailor", password: "sailor-password-1", email: "sailor@example.com" }),
    });
    expect(await signUp.json()).toEqual({ awaiting_verification: true });
    const confirmation = await mailFor("sailor@example.com", "[Wharf] Please confirm your e-mail address");
    const confirmed = await follow(linkIn(confirmation, "confirm"));
    expect(confirmed.status).toBe(302);

    const joined = await fetch(`${wharf.url}/api/v1/teaminvite/${inviteCode}`, {
      method: "PUT",
      headers: confirmed.headers,
    });
    expect(joined.status).toBe(200);
    expect(await joined.json()).toEqual({ org: "crew", team: "deck" });
    const members = await apiCall(wharf.url, admin, "GET", "/organization/crew/team/deck/members");
    expect(members.members.map((m: { name: string }) => m.name)).toEqual(["sailor"]);

    const seen = new Set((await readEmls()).map((m) => m.file));
    const asked = await fetch(`${wharf.url}/api/v1/recovery`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "sailor@example.com" }),
    });
    expect(await asked.json()).toEqual({ status: "sent" });
    const recovery = await mailFor("sailor@example.com", "[Wharf] Account recovery", seen);
    const recovered = await follow(linkIn(recovery, "recovery"));
    expect(recovered.location).toBe("/user/sailor?tab=settings&action=password");
    const changed = await fetch(`${wharf.url}/api/v1/user/`, {
      method: "PUT",
      headers: recovered.headers,
      body: JSON.stringify({ password: "sailor-password-2" }),
    });
    expect(changed.status).toBe(200);
    const signIn = await fetch(`${wharf.url}/api/v1/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "sailor", password: "sailor-password-2" }),
    });
    expect(await signIn.json()).toEqual({ success: true });
    await mailFor("sailor@example.com", "[Wharf] Account password changed", seen);
  });
});
