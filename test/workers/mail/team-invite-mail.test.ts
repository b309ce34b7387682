import { beforeAll, describe, expect, it, vi, afterEach } from "vitest";
import { db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { findUser } from "../../../src/identity/users";
import { mailFiles, mailingApi, mailsSince, recordMailJobs } from "../helpers/mailbox";

let owner: string;
let ivy: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["oona", "iris"])
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
});
