import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { cookieOf, personMaker } from "../helpers/signed-in";
import { findUser } from "../../../src/identity/users";

let admin: string;
let person: ReturnType<typeof personMaker>;

beforeAll(async () => {
  admin = await initializeAdmin();
  person = personMaker(admin);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function recoveryCode(text: string): string {
  const code = /\/recovery\?code=([A-Za-z0-9]+)/.exec(text)?.[1];
  if (!code) throw new Error(`no recovery link in ${text}`);
  return code;
}

const follow = (code: string) => requestWith(mailingEnv(), "GET", `/recovery?code=${code}`);
const signIn = (username: string, password: string) => api("POST", "/signin", { body: { username, password } });

describe("POST /api/v1/recovery (requestRecoveryEmail)", () => {
  it("mails a recovery link that signs the user in to choose a new password", async () => {
    await person("forgetful");
    const before = await mailFiles();
    const mails = recordMailJobs();
    const res = await mailingApi("POST", "/recovery", { body: { email: "forgetful@example.com" } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "sent" });
    await mails.deliver();
    const [mail] = await mailsSince(before);
    expect(mail?.headers.to).toBe("forgetful@example.com");
    expect(mail?.headers.subject).toBe("[Wharf] Account recovery");
    expect(mail?.text).toMatch(/http:\/\/registry\.test\/recovery\?code=[A-Za-z0-9]{64} within 30 minutes/);

    const code = recoveryCode(mail!.text);
    const followed = await follow(code);
    expect(followed.status).toBe(302);
    expect(followed.headers.get("Location")).toBe("/user/forgetful?tab=settings&action=password");
    const cookie = cookieOf(followed);
    const csrf = await requestWith(env, "GET", "/csrf_token", { headers: { Cookie: cookie } });
    const headers = { Cookie: cookie, "X-CSRF-Token": csrf.json.csrf_token as string };
    // The session is a fresh login: the new password needs nothing else.
    const changed = await api("PUT", "/user/", { headers, body: { password: "remembered-password-2" } });
    expect(changed.status).toBe(200);
    expect((await signIn("forgetful", "remembered-password-2")).json).toEqual({ success: true });
    expect((await signIn("forgetful", "forgetful-password-1")).status).toBe(403);
    // Single use.
    const again = await follow(code);
    expect(again.status).toBe(400);
    expect(again.json.error).toBe("Invalid recovery code: This code is invalid or may have already been used.");
  });

  it("expires a link after USER_RECOVERY_TOKEN_LIFETIME (30 minutes), and a new request replaces the old link", async () => {
    await person("slowpoke");
    const mails = recordMailJobs();
    await mailingApi("POST", "/recovery", { body: { email: "slowpoke@example.com" } });
    await mailingApi("POST", "/recovery", { body: { email: "slowpoke@example.com" } });
    const [first, second] = mails.jobs.map((j) => recoveryCode(j.message.text));
    expect((await follow(first!)).status).toBe(400);
    advanceClock(30 * 60 * 1000 + 1000);
    expect((await follow(second!)).status).toBe(400);
  });

  it("answers `sent` for an address no one has, mailing nothing; Quay's `org` answer for an organization's", async () => {
    const mails = recordMailJobs();
    expect((await mailingApi("POST", "/recovery", { body: { email: "ghost@example.com" } })).json).toEqual({
      status: "sent",
    });
    expect(mails.jobs).toEqual([]);

    const { token } = await person("founder");
    await api("POST", "/organization/", { token, body: { name: "recoverable", email: "team@example.com" } });
    const res = await mailingApi("POST", "/recovery", { body: { email: "team@example.com" } });
    expect(res.json).toEqual({
      status: "org",
      orgemail: "team@example.com",
      orgname: "rec\u2022\u2022\u2022\u2022\u2022\u2022le",
    });
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["team@example.com", "[Wharf] Organization recoverable recovery"],
    ]);
    expect(mails.jobs[0]!.message.text).toContain("founder");
    expect(mails.jobs[0]!.message.text).not.toMatch(/code=/);
  });

  it("verifies an account that never confirmed its address, as Quay's recovery does", async () => {
    const mails = recordMailJobs();
    await mailingApi("POST", "/user/", {
      body: { username: "unconfirmed", password: "unconfirmed-password-1", email: "unconfirmed@example.com" },
    });
    await mailingApi("POST", "/recovery", { body: { email: "unconfirmed@example.com" } });
    const code = recoveryCode(mails.jobs.at(-1)!.message.text);
    expect((await follow(code)).status).toBe(302);
    expect((await findUser(db(), "unconfirmed"))?.verified).toBe(true);
  });

  it("does not exist without FEATURE_MAILING, nor does its link", async () => {
    expect((await api("POST", "/recovery", { body: { email: "forgetful@example.com" } })).status).toBe(404);
    expect((await requestWith(env, "GET", "/recovery?code=abc")).status).toBe(404);
  });
});

describe("POST /api/v1/superusers/users/{username}/sendrecovery (sendInstallUserRecoveryEmail)", () => {
  it("mails the user a recovery link and answers their address", async () => {
    await person("helped");
    const mails = recordMailJobs();
    const res = await mailingApi("POST", "/superusers/users/helped/sendrecovery", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ email: "helped@example.com" });
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["helped@example.com", "[Wharf] Account recovery"],
    ]);
    expect((await follow(recoveryCode(mails.jobs[0]!.message.text))).status).toBe(302);
  });

  it("refuses a superuser (Quay's message), an unknown user, a non-superuser, and answers 404 without mailing", async () => {
    const mails = recordMailJobs();
    expectQuayError(
      await mailingApi("POST", "/superusers/users/admin/sendrecovery", { token: admin }),
      400,
      "invalid_request",
      "Cannot send a recovery email for a superuser",
    );
    expect((await mailingApi("POST", "/superusers/users/nobody/sendrecovery", { token: admin })).status).toBe(404);
    const { token } = await person("bystander");
    expect((await mailingApi("POST", "/superusers/users/helped/sendrecovery", { token })).status).toBe(403);
    expect((await api("POST", "/superusers/users/helped/sendrecovery", { token: admin })).status).toBe(404);
    expect(mails.jobs).toEqual([]);
  });
});
