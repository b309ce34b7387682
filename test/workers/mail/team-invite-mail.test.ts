import { beforeAll, describe, expect, it, vi, afterEach } from "vitest";
import { db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { findUser } from "../../../src/identity/users";
import { recordEvents } from "../helpers/events";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";

let owner: string;
let ivy: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["oona", "iris", "nora", "nils", "noel"])
    await api("POST", "/superuser/users", { token: admin, body: { username: name, email: `${name}@example.com` } });
  owner = await tokenFor("oona", ["org:admin", "user:admin"]);
  ivy = await tokenFor("iris", ["user:admin"]);
  await api("POST", "/organization/", { token: owner, body: { name: "mailers" } });
  for (const team of ["builders", "readers"])
    await api("PUT", `/organization/mailers/team/${team}`, { token: owner, body: { role: "member" } });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The code in an invitation mail's link. */
function codeIn(text: string): string {
  const code = /\/confirminvite\?code=([A-Z0-9]+)/.exec(text)?.[1];
  if (!code) throw new Error(`no invitation link in ${text}`);
  return code;
}

describe("team invitations by mail (FEATURE_MAILING)", () => {
  it("mails the invited address Quay's subject and link, and the holder of that address joins with its code", async () => {
    const before = await mailFiles();
    const mails = recordMailJobs();
    const res = await mailingApi("PUT", "/organization/mailers/team/builders/invite/iris@example.com", {
      token: owner,
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).not.toMatch(/code/i);
    expect(mails.jobs).toHaveLength(1);
    await mails.deliver();
    const [mail, ...others] = await mailsSince(before);
    expect(others).toEqual([]);
    expect(mail?.headers.to).toBe("iris@example.com");
    expect(mail?.headers.subject).toBe("[Wharf] Invitation to join team");
    expect(mail?.text).toContain("oona has invited you to join the team builders of the organization mailers");
    expect(mail?.text).toMatch(/http:\/\/registry\.test\/confirminvite\?code=[A-Z0-9]{64}\b/);
    const code = codeIn(mail!.text);
    expect(mail?.text).toContain(`PUT http://registry.test/api/v1/teaminvite/${code}`);

    const joined = await api("PUT", `/teaminvite/${code}`, { token: ivy });
    expect(joined.status).toBe(200);
    expect(joined.json).toEqual({ org: "mailers", team: "builders" });
    const members = await api("GET", "/organization/mailers/team/builders/members", { token: owner });
    expect(members.json.members.map((m: { name: string }) => m.name)).toEqual(["iris"]);
    // Single use: the invitation is gone with its acceptance.
    expectQuayError(
      await api("PUT", `/teaminvite/${code}`, { token: ivy }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
  });

  it("mails a new code when the invitation is renewed; the first one stops working", async () => {
    const mails = recordMailJobs();
    await mailingApi("PUT", "/organization/mailers/team/readers/invite/iris@example.com", { token: owner });
    await mailingApi("PUT", "/organization/mailers/team/readers/invite/iris@example.com", { token: owner });
    const [first, second] = mails.jobs.map((job) => codeIn(job.message.text));
    expect(first).not.toBe(second);
    expectQuayError(
      await api("PUT", `/teaminvite/${first}`, { token: ivy }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    expect((await api("PUT", `/teaminvite/${second}`, { token: ivy })).json).toEqual({
      org: "mailers",
      team: "readers",
    });
  });

  it("mails nothing with FEATURE_MAILING off", async () => {
    const mails = recordMailJobs();
    const res = await api("PUT", "/organization/mailers/team/readers/invite/nobody@example.com", { token: owner });
    expect(res.status).toBe(200);
    expect(mails.jobs).toEqual([]);
    expect(await findUser(db(), "nobody")).toBeUndefined();
  });

  it("invites a person outside the organization instead of adding them (REQUIRE_TEAM_INVITE), by mail to their address", async () => {
    const mails = recordMailJobs();
    const events = recordEvents();
    const res = await mailingApi("PUT", "/organization/mailers/team/readers/members/nora", { token: owner });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ name: "nora", kind: "user", invited: true });
    const members = await api("GET", "/organization/mailers/team/readers/members", { token: owner });
    expect(members.json.members.map((m: { name: string }) => m.name)).not.toContain("nora");
    const pending = await api("GET", "/organization/mailers/team/readers/members?includePending=true", {
      token: owner,
    });
    expect(pending.json.members).toContainEqual(expect.objectContaining({ name: "nora", invited: true }));
    expect(mails.jobs.map((j) => [j.message.to, j.message.subject])).toEqual([
      ["nora@example.com", "[Wharf] Invitation to join team"],
    ]);
    const invited = await events.published("org_invite_team_member");
    expect(invited.map((e) => e.data)).toEqual([
      {
        team: expect.objectContaining({ name: "readers" }),
        email: "nora@example.com",
        member: expect.objectContaining({ name: "nora" }),
      },
    ]);
    const code = codeIn(mails.jobs[0]!.message.text);
    const nora = await tokenFor("nora", ["user:admin"]);
    expect((await api("PUT", `/teaminvite/${code}`, { token: ivy })).status).toBe(400);
    expect((await api("PUT", `/teaminvite/${code}`, { token: nora })).json).toEqual({
      org: "mailers",
      team: "readers",
    });
    const after = await api("GET", "/organization/mailers/team/readers/members", { token: owner });
    expect(after.json.members.map((m: { name: string }) => m.name)).toContain("nora");
  });

  it("adds directly someone already in the organization, and everyone with REQUIRE_TEAM_INVITE off or mailing off", async () => {
    const mails = recordMailJobs();
    // nora is in `readers` now: a second team takes her at once.
    await api("PUT", "/organization/mailers/team/builders2", { token: owner, body: { role: "member" } });
    const inOrg = await mailingApi("PUT", "/organization/mailers/team/builders2/members/nora", { token: owner });
    expect(inOrg.json).toMatchObject({ name: "nora", invited: false });
    const noInvites = mailingEnv({ REQUIRE_TEAM_INVITE: "false" });
    const off = await requestWith(noInvites, "PUT", "/api/v1/organization/mailers/team/builders2/members/nils", {
      token: owner,
    });
    expect(off.json).toMatchObject({ name: "nils", invited: false });
    const noMail = await api("PUT", "/organization/mailers/team/builders2/members/noel", { token: owner });
    expect(noMail.json).toMatchObject({ name: "noel", invited: false });
    expect(mails.jobs).toEqual([]);
    const members = await api("GET", "/organization/mailers/team/builders2/members", { token: owner });
    expect(members.json.members.map((m: { name: string }) => m.name).sort()).toEqual(["nils", "noel", "nora"]);
  });
});
