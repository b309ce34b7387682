/**
 * The mail codes' log kinds of the README's table (Wharf's own: Quay logs no such entry), each
 * produced by its action through its real route and found in the user's own logs: a recovery
 * mail sent (`user_email_code_issued`) and its link followed (`user_email_code_used`), the
 * address named, never the code.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { initializeAdmin } from "../helpers/api";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { personMaker } from "../helpers/signed-in";

let token: string;

beforeAll(async () => {
  token = (await personMaker(await initializeAdmin())("mislaid")).token;
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("mail codes", () => {
  it("user_email_code_issued and user_email_code_used, for a recovery", async () => {
    const before = await mailFiles();
    const mails = recordMailJobs();
    const logs = recordLogs();
    expect((await mailingApi("POST", "/recovery", { body: { email: "mislaid@example.com" } })).status).toBe(200);
    await logs.deliver();
    const issued = await entryOf(token, "/user/logs", "user_email_code_issued");
    expect(issued.metadata).toMatchObject({ purpose: "recovery", email: "mislaid@example.com" });

    await mails.deliver();
    const [mail] = await mailsSince(before);
    const code = /\/recovery\?code=([A-Za-z0-9]+)/.exec(mail!.text)![1]!;
    expect(JSON.stringify(issued)).not.toContain(code);
    expect((await requestWith(mailingEnv(), "GET", `/recovery?code=${code}`)).status).toBe(302);
    await logs.deliver();
    const used = await entryOf(token, "/user/logs", "user_email_code_used");
    expect(used.metadata).toMatchObject({ purpose: "recovery", email: "mislaid@example.com" });
    expect(JSON.stringify(used)).not.toContain(code);
  });
});
