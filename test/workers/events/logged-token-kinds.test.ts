/**
 * The log kinds of the README's table whose actions need more than a token to perform (a fresh
 * browser login, an identity provider, a configured Worker): `permanently_delete_tag`,
 * `federated_robot_token_exchange`, the robots' API tokens, the OAuth tokens (an organization
 * application's, an assigned authorization) and `account_convert`. Each is performed through its
 * real route and found in the logs of its namespace with Quay's metadata.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { basic, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { serveIdentityProvider } from "../helpers/identity-provider";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { mailFiles, mailingApi, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { BASE, request } from "../helpers/registry";
import { browser, personMaker } from "../helpers/signed-in";

const IP = "198.51.100.47";
const fromIp = { "CF-Connecting-IP": IP };
const ISSUER = "https://idp.test/realms/logs";
const ORG = "/organization/acme";
const LOGS = `${ORG}/logs`;
let olga: { token: string; password: string };
let person: ReturnType<typeof personMaker>;

beforeAll(async () => {
  person = personMaker(await initializeAdmin());
  olga = await person("olga");
  expect((await api("POST", "/organization", { token: olga.token, body: { name: "acme" } })).status).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Performs `action`, delivers what it sent, and answers the one entry of `kind` in `path` as `reader`. */
async function logged(kind: string, action: () => Promise<{ status: number }>, path = LOGS, reader = olga.token) {
  const logs = recordLogs();
  const res = await action();
  // A followed mail link answers with a redirect.
  expect(res.status, kind).toBeLessThan(400);
  await logs.deliver();
  return entryOf(reader, path, kind);
}

const byOlga = { kind: "user", name: "olga", is_robot: false };

describe("tags", () => {
  it("permanently_delete_tag, from POST …/tag/{tag}/expire where PERMANENTLY_DELETE_TAGS allows it", async () => {
    const push = (await v2Token(basic("olga", olga.password), "repository:olga/purge:pull,push")).token;
    const old = (await pushImageWith(push, "olga/purge", "gone")).headers.get("Docker-Content-Digest")!;
    await pushImageWith(push, "olga/purge", "gone");
    const entry = await logged(
      "permanently_delete_tag",
      async () => {
        const ctx = createExecutionContext();
        const res = await createApp().fetch(
          new Request(`${BASE}/api/v1/repository/olga/purge/tag/gone/expire`, {
            method: "POST",
            headers: { Authorization: `Bearer ${olga.token}`, "Content-Type": "application/json", ...fromIp },
            body: JSON.stringify({ manifest_digest: old }),
          }),
          { ...env, PERMANENTLY_DELETE_TAGS: "true" },
          ctx,
        );
        await waitOnExecutionContext(ctx);
        return res;
      },
      "/repository/olga/purge/logs",
    );
    expect(entry).toMatchObject({ ip: IP, performer: byOlga });
    expect(entry.metadata).toEqual({
      username: "olga",
      repo: "purge",
      namespace: "olga",
      tag: "gone",
      manifest_digest: old,
    });
  });
});

describe("robots", () => {
  it("federated_robot_token_exchange, by the robot: the subject, the issuer and the robot's short name", async () => {
    await api("PUT", `${ORG}/robots/fed`, { token: olga.token, body: {} });
    const federation = [{ issuer: ISSUER, subject: "job-7" }];
    await api("POST", `${ORG}/robots/fed/federation`, { token: olga.token, body: federation });
    const oidc = await (await serveIdentityProvider(ISSUER))("job-7");
    const entry = await logged("federated_robot_token_exchange", () =>
      request("GET", "/oauth2/federation/robot/token", {
        headers: { Authorization: basic("acme+fed", oidc), ...fromIp },
      }),
    );
    expect(entry).toMatchObject({ ip: IP, performer: { kind: "user", name: "acme+fed", is_robot: true } });
    expect(entry.metadata).toEqual({ subject: "job-7", issuer: ISSUER, robot: "fed" });
  });

  it("create_robot_api_token and revoke_robot_api_token, from a fresh browser login", async () => {
    await api("PUT", `${ORG}/robots/deployer`, { token: olga.token, body: {} });
    const session = await browser("olga", olga.password);
    const tokens = `${ORG}/robots/deployer/tokens`;
    let uuid = "";
    const created = await logged("create_robot_api_token", async () => {
      const res = await api("POST", tokens, { headers: session, body: { name: "deploy", scope: "repo:read" } });
      uuid = res.json.uuid;
      return res;
    });
    expect(created).toMatchObject({ ip: session["CF-Connecting-IP"], performer: byOlga });
    expect(created.metadata).toEqual({
      robot: "acme+deployer",
      api_token_uuid: uuid,
      scope: "repo:read",
      token_display_name: "deploy",
      expiration: 30 * 86_400,
    });
    const revoked = await logged("revoke_robot_api_token", () =>
      api("DELETE", `${tokens}/${uuid}`, { headers: session }),
    );
    expect(revoked.metadata).toEqual({ robot: "acme+deployer", api_token_uuid: uuid });
  });
});

describe("OAuth tokens", () => {
  it("create_oauth_api_token and revoke_oauth_api_token, an organization application's token", async () => {
    const app = await api("POST", `${ORG}/applications`, { token: olga.token, body: { name: "ci" } });
    const clientId: string = app.json.client_id;
    const tokens = `${ORG}/applications/${clientId}/tokens`;
    let uuid = "";
    const created = await logged("create_oauth_api_token", async () => {
      const res = await api("POST", tokens, { token: olga.token, headers: fromIp, body: { scope: "repo:read" } });
      uuid = res.json.uuid;
      return res;
    });
    expect(created).toMatchObject({ ip: IP, performer: byOlga });
    expect(created.metadata).toEqual({ scope: "repo:read", application_name: "ci", client_id: clientId });
    const revoked = await logged("revoke_oauth_api_token", () =>
      api("DELETE", `${tokens}/${uuid}`, { token: olga.token, headers: fromIp }),
    );
    expect(revoked.metadata).toEqual({ oauth_token_uuid: uuid, application_name: "ci", client_id: clientId });
  });

  it("oauth_token_assigned by the organization's admin, oauth_token_revoked by the user declining it", async () => {
    const redirect = "https://app.example/cb";
    const app = await api("POST", `${ORG}/applications`, {
      token: olga.token,
      body: { name: "assigner", redirect_uri: redirect, application_uri: "https://app.example" },
    });
    const clientId: string = app.json.client_id;
    const pete = await person("pete");
    const session = await browser("olga", olga.password);
    let uuid = "";
    const assigned = await logged("oauth_token_assigned", async () => {
      const res = await request("POST", "/oauth/authorizeapp", {
        headers: { ...session, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: clientId,
          redirect_uri: redirect,
          scope: "repo:read",
          username: "pete",
        }).toString(),
        redirect: "manual",
      });
      uuid = ((await res.clone().json()) as { uuid: string }).uuid;
      return res;
    });
    expect(assigned).toMatchObject({ ip: session["CF-Connecting-IP"], performer: byOlga });
    expect(assigned.metadata).toMatchObject({ application: "assigner", assignee: "pete", uuid, scope: "repo:read" });
    const peteAdmin = await tokenFor("pete", ["user:admin"]);
    const revoked = await logged(
      "oauth_token_revoked",
      () => api("DELETE", `/user/assignedauthorization/${uuid}`, { token: peteAdmin, headers: fromIp }),
      "/user/logs",
      pete.token,
    );
    expect(revoked).toMatchObject({ ip: IP, performer: { name: "pete" } });
    expect(revoked.metadata).toMatchObject({ application: "assigner", uuid });
  });
});

describe("accounts", () => {
  it("account_convert, in the converted namespace's logs, read by its new administrator", async () => {
    const convertee = await person("convertee");
    const boss = await person("boss");
    const entry = await logged(
      "account_convert",
      () =>
        api("POST", "/user/convert", {
          token: convertee.token,
          headers: fromIp,
          body: { adminUser: "boss", adminPassword: boss.password, plan: "free" },
        }),
      "/organization/convertee/logs",
      boss.token,
    );
    expect(entry).toMatchObject({ ip: IP, performer: { name: "convertee" } });
    // Quay writes none; Wharf's generic path keeps the acting user and the new administrator.
    expect(entry.metadata).toEqual({ username: "convertee", admin_user: "boss" });
  });

  it("user_email_code_issued and user_email_code_used (Wharf's kinds), from a recovery mail and its link", async () => {
    const forgetful = await person("forgetful");
    const before = await mailFiles();
    const mails = recordMailJobs();
    const issued = await logged(
      "user_email_code_issued",
      () => mailingApi("POST", "/recovery", { headers: fromIp, body: { email: "forgetful@example.com" } }),
      "/user/logs",
      forgetful.token,
    );
    expect(issued).toMatchObject({ ip: IP });
    expect(issued.metadata).toEqual({ purpose: "recovery", email: "forgetful@example.com" });
    await mails.deliver();
    const [mail] = await mailsSince(before);
    const code = /\/recovery\?code=([A-Za-z0-9]+)/.exec(mail!.text)![1]!;
    const used = await logged(
      "user_email_code_used",
      () => requestWith(mailingEnv(), "GET", `/recovery?code=${code}`, { headers: fromIp }),
      "/user/logs",
      forgetful.token,
    );
    expect(used).toMatchObject({ ip: IP });
    expect(used.metadata).toMatchObject({ purpose: "recovery", email: "forgetful@example.com" });
  });
});
