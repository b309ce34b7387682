/**
 * `email` notifications and Quay's verified-address flow (`endpoints/api/repoemail.py`): an admin
 * asks for an address, its holder confirms it through the mailed link, and only then may an
 * `email` notification mail it, through the one mailer (src/mail/). Without FEATURE_MAILING the
 * flow does not exist (404), as Quay's `@show_if`.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { deliver } from "../../../src/notifications/delivery";
import { makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { recordDeliveries } from "../helpers/notifications";

let admin: string;
let mo: string;
const ADDRESS = "ops@example.com";
const PATH = `/repository/mo/app/authorizedemail/${ADDRESS}`;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "mo");
  mo = await tokenFor("mo");
  await pushTaggedAs("mo", "mo/app", "v1");
});

afterEach(() => vi.restoreAllMocks());

const emailNotification = (call: typeof mailingApi) =>
  call("POST", "/repository/mo/app/notification/", {
    token: mo,
    body: { event: "repo_push", method: "email", config: { email: ADDRESS }, eventConfig: {} },
  });

describe("email notifications", () => {
  it("do not exist without FEATURE_MAILING", async () => {
    expectQuayError(await api("GET", PATH, { token: mo }), 404, "not_found");
    expectQuayError(await api("POST", PATH, { token: mo }), 404, "not_found");
    expectQuayError(
      await emailNotification((method, path, options) => api(method, path, options)),
      400,
      "invalid_request",
      "The specified e-mail address is not authorized to receive notifications for this repository",
    );
  });

  it("verify the address by the mailed link, then mail the repository's events", async () => {
    expectQuayError(await mailingApi("GET", PATH, { token: mo }), 404, "not_found");
    const before = await mailFiles();
    const mails = recordMailJobs();
    const asked = await mailingApi("POST", PATH, { token: mo });
    expect(asked.status).toBe(200);
    expect(asked.json).toEqual({ email: ADDRESS, repository: "app", namespace: "mo", confirmed: false });
    await mails.deliver();
    const [verification] = await mailsSince(before);
    expect(verification!.headers.to).toBe(ADDRESS);
    expect(verification!.headers.subject).toBe("[Wharf] Please verify your e-mail address for repository mo/app");
    const link = /http:\/\/registry\.test(\/authrepoemail\?code=[A-Za-z0-9]{32})\b/.exec(verification!.text)![1]!;

    // Not yet confirmed: no email notification; a wrong code confirms nothing.
    expectQuayError(await emailNotification(mailingApi), 400, "invalid_request", /not authorized/);
    expect((await requestWith(mailingEnv(), "GET", "/authrepoemail?code=wrong")).status).toBe(400);
    const confirmed = await requestWith(mailingEnv(), "GET", link);
    expect(confirmed.status).toBe(200);
    expect(confirmed.json).toContain("has been authorized to receive notifications for repository");
    expect((await mailingApi("GET", PATH, { token: mo })).json.confirmed).toBe(true);
    // Asking again for a confirmed address mails nothing.
    expect((await mailingApi("POST", PATH, { token: mo })).json.confirmed).toBe(true);
    expect(mails.jobs).toEqual([]);

    const created = await emailNotification(mailingApi);
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const queued = recordDeliveries();
    expect(
      (await mailingApi("POST", `/repository/mo/app/notification/${created.json.uuid}/test`, { token: mo })).status,
    ).toBe(200);
    const beforeNotice = await mailFiles();
    expect(await deliver(mailingEnv(), queued[0]!)).toBe("delivered");
    await mails.deliver();
    const [notice, ...others] = await mailsSince(beforeNotice);
    expect(others).toEqual([]);
    expect(notice!.headers.to).toBe(ADDRESS);
    expect(notice!.headers.subject).toBe("Repository mo/app updated");
    expect(notice!.text).toContain("Repository: http://registry.test/repository/mo/app");
  });

  it("are for the repository's admins only", async () => {
    await makeUser(admin, "nosy");
    const nosy = await tokenFor("nosy");
    expectQuayError(await mailingApi("POST", PATH, { token: nosy }), 403, "insufficient_scope");
    expectQuayError(await mailingApi("GET", PATH, { token: nosy }), 403, "insufficient_scope");
  });
});
