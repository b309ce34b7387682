import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import { db } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { recordEvents } from "../helpers/events";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { cookieOf, personMaker } from "../helpers/signed-in";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The code of the `/confirm` link in a mail's text. */
function confirmCode(text: string): string {
  const code = /\/confirm\?code=([A-Za-z0-9]+)/.exec(text)?.[1];
  if (!code) throw new Error(`no confirmation link in ${text}`);
  return code;
}

const follow = (code: string) => requestWith(mailingEnv(), "GET", `/confirm?code=${code}`);
const signIn = (username: string, password: string) => api("POST", "/signin", { body: { username, password } });

describe("account confirmation (createNewUser with FEATURE_MAILING)", () => {
  it("creates the account unverified, mails Quay's confirmation link, and the link verifies it and signs it in", async () => {
    const before = await mailFiles();
    const mails = recordMailJobs();
    const events = recordEvents();
    const res = await mailingApi("POST", "/user/", {
      body: { username: "newcomer", password: "newcomer-password-1", email: "newcomer@example.com" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ awaiting_verification: true });
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect((await findUser(db(), "newcomer"))?.verified).toBe(false);
    await mails.deliver();
    const [mail] = await mailsSince(before);
    expect(mail?.headers.to).toBe("newcomer@example.com");
    expect(mail?.headers.subject).toBe("[Wharf] Please confirm your e-mail address");
    expect(mail?.text).toMatch(/http:\/\/registry\.test\/confirm\?code=[A-Za-z0-9]{64}\b/);
    expect((await events.published("user_email_code_issued")).map((e) => e.data)).toEqual([
      { purpose: "confirm", email: "newcomer@example.com" },
    ]);

    // Quay's answer to signing in before confirming.
    const refused = await signIn("newcomer", "newcomer-password-1");
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ needsEmailVerification: true, invalidCredentials: false });

    const code = confirmCode(mail!.text);
    const followed = await follow(code);
    expect(followed.status).toBe(302);
    expect(followed.headers.get("Location")).toBe("/");
    const cookie = cookieOf(followed);
    const me = await requestWith(env, "GET", "/api/v1/user/", { headers: { Cookie: cookie } });
    expect(me.json.username).toBe("newcomer");
    expect((await findUser(db(), "newcomer"))?.verified).toBe(true);
    expect((await events.published("user_email_code_used")).map((e) => e.data)).toEqual([
      { purpose: "confirm", email: "newcomer@example.com" },
    ]);

    // Single use.
    const again = await follow(code);
    expect(again.status).toBe(400);
    expect(again.json.error).toMatch(/Invalid confirmation code/);
    expect((await signIn("newcomer", "newcomer-password-1")).json).toEqual({ success: true });
  });

  it("takes Quay's invite_code of an invitation mailed to the address as its proof: verified and signed in at once", async () => {
    const { token: owner } = await personMaker(admin)("inviter");
    await api("POST", "/organization/", { token: owner, body: { name: "welcomers" } });
    await api("PUT", "/organization/welcomers/team/hosts", { token: owner, body: { role: "member" } });
    const mails = recordMailJobs();
    await mailingApi("PUT", "/organization/welcomers/team/hosts/invite/guest@example.com", { token: owner });
    const code = /confirminvite\?code=([A-Z0-9]+)/.exec(mails.jobs[0]!.message.text)![1]!;
    mails.jobs.length = 0;
    // Another address, or no URN: the usual confirmation.
    const other = await mailingApi("POST", "/user/", {
      body: {
        username: "gatecrasher",
        password: "gatecrasher-pw-1",
        email: "crasher@example.com",
        invite_code: `urn:teaminvite:${code}`,
      },
    });
    expect(other.json).toEqual({ awaiting_verification: true });
    const bare = await mailingApi("POST", "/user/", {
      body: { username: "bare", password: "bare-password-1", email: "bare@example.com", invite_code: code },
    });
    expect(bare.json).toEqual({ awaiting_verification: true });
    expect(mails.jobs).toHaveLength(2);
    mails.jobs.length = 0;

    const res = await mailingApi("POST", "/user/", {
      body: {
        username: "guest",
        password: "guest-password-1",
        email: "guest@example.com",
        invite_code: `urn:teaminvite:${code}`,
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ username: "guest", verified: true });
    expect(mails.jobs).toEqual([]);
    const cookie = cookieOf(res);
    const csrf = await requestWith(env, "GET", "/csrf_token", { headers: { Cookie: cookie } });
    const joined = await api("PUT", `/teaminvite/${code}`, {
      headers: { Cookie: cookie, "X-CSRF-Token": csrf.json.csrf_token },
    });
    expect(joined.json).toEqual({ org: "welcomers", team: "hosts" });
  });

  it("requires an email address, as Quay does with mailing", async () => {
    const res = await mailingApi("POST", "/user/", { body: { username: "nomail", password: "nomail-password-1" } });
    expectQuayError(res, 400, "invalid_request", "Email address is required");
    expect(await findUser(db(), "nomail")).toBeUndefined();
  });

  it("refuses a confirmation link after a day, and a made-up one", async () => {
    const mails = recordMailJobs();
    await mailingApi("POST", "/user/", {
      body: { username: "latecomer", password: "latecomer-password-1", email: "latecomer@example.com" },
    });
    const code = confirmCode(mails.jobs[0]!.message.text);
    advanceClock(24 * 3600 * 1000 + 1000);
    expect((await follow(code)).status).toBe(400);
    expect((await follow("A".repeat(64))).status).toBe(400);
    expect((await findUser(db(), "latecomer"))?.verified).toBe(false);
  });

  it("has no confirmation page without FEATURE_MAILING", async () => {
    const res = await requestWith(env, "GET", "/confirm?code=abc");
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: "Not Found" });
  });

  it("mails a superuser-created account its confirmation too (Quay's create_install_user)", async () => {
    const mails = recordMailJobs();
    const res = await mailingApi("POST", "/superuser/users", {
      token: admin,
      body: { username: "installed", email: "installed@example.com" },
    });
    expect(res.status).toBe(200);
    expect((await findUser(db(), "installed"))?.verified).toBe(false);
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["installed@example.com", "[Wharf] Please confirm your e-mail address"],
    ]);
  });
});

describe("changing one's email with FEATURE_MAILING", () => {
  it("keeps the old address until the new one's link is followed, then tells the old one", async () => {
    const person = personMaker(admin);
    const { token } = await person("mover");
    const mails = recordMailJobs();
    const res = await mailingApi("PUT", "/user/", { token, body: { email: "mover-new@example.com" } });
    expect(res.status).toBe(200);
    expect(res.json.email).toBe("mover@example.com");
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["mover-new@example.com", "[Wharf] E-mail address change requested"],
    ]);
    const code = confirmCode(mails.jobs[0]!.message.text);
    mails.jobs.length = 0;
    const followed = await follow(code);
    expect(followed.status).toBe(302);
    expect(followed.headers.get("Location")).toBe("/user/mover?tab=settings");
    expect((await findUser(db(), "mover"))?.email).toBe("mover-new@example.com");
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["mover@example.com", "[Wharf] Account e-mail address changed"],
    ]);
  });

  it("refuses an address another account has, and announces a new password", async () => {
    const person = personMaker(admin);
    const { token } = await person("keeper");
    const mails = recordMailJobs();
    expectQuayError(
      await mailingApi("PUT", "/user/", { token, body: { email: "admin@example.com" } }),
      400,
      "invalid_request",
      "E-mail address already used",
    );
    const res = await mailingApi("PUT", "/user/", { token, body: { password: "keeper-password-2" } });
    expect(res.status).toBe(200);
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["keeper@example.com", "[Wharf] Account password changed"],
    ]);
  });
});
