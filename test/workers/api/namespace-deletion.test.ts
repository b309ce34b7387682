import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { count, eq, type SQL } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { accessTokens, oauthApplications, repositories, teams, users } from "../../../src/db/schema";
import { purgeNamespace } from "../../../src/identity/namespace-deletion";
import { issueToken } from "../../../src/identity/tokens";
import worker from "../../../src/index";
import { findRepository } from "../../../src/registry/repositories";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { basic, db, joinTeam, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";

let admin: string;
let dora: string;
let doraPassword: string;
let eve: string;

const push = async (name: string) => (await v2Token(basic("dora", doraPassword), `repository:${name}:pull,push`)).token;
/** Rows of `table` matching `where`. */
const rows = async (table: typeof users | typeof teams | typeof oauthApplications, where: SQL | undefined) =>
  (await db().select({ n: count() }).from(table).where(where).get())!.n;

/** Builds an organization with a repository, a team, a robot with a grant, and an OAuth application with a token. */
async function populated(name: string) {
  expect((await api("POST", "/organization", { token: dora, body: { name } })).status).toBe(201);
  expect((await pushImageWith(await push(`${name}/app`), `${name}/app`, "v1")).status).toBe(201);
  await joinTeam(name, "builders", "member", "eve");
  const robot = await api("PUT", `/organization/${name}/robots/ci`, { token: dora });
  await api("PUT", `/repository/${name}/app/permissions/user/${name}+ci`, { token: dora, body: { role: "read" } });
  const app = await api("POST", `/organization/${name}/applications`, {
    token: dora,
    body: { name: "tool", redirect_uri: "https://tool.example/cb" },
  });
  const appRow = (await db()
    .select()
    .from(oauthApplications)
    .where(eq(oauthApplications.clientId, app.json.client_id))
    .get())!;
  const doraRow = (await db().select().from(users).where(eq(users.username, "dora")).get())!;
  const minted = await issueToken(db(), {
    kind: "oauth",
    userId: doraRow.id,
    scopes: ["user:read"],
    applicationId: appRow.id,
  });
  const org = (await db().select().from(users).where(eq(users.username, name)).get())!;
  return { org, robotToken: robot.json.token as string, minted, appId: appRow.id };
}

beforeAll(async () => {
  admin = await initializeAdmin();
  doraPassword = await makeUser(admin, "dora");
  await makeUser(admin, "eve");
  dora = await tokenFor("dora");
  eve = await tokenFor("eve");
});

describe("DELETE /api/v1/organization/{orgname}", () => {
  it("hides the organization at once, then purges everything in it, and frees its name", async () => {
    const { org, robotToken, minted, appId } = await populated("doomed");
    expect((await populated("kept")).org.username).toBe("kept");
    const repositoryId = (await findRepository(db(), "doomed/app"))!.id;

    expect((await api("DELETE", "/organization/doomed", { token: dora })).status).toBe(204);
    expectQuayError(await api("GET", "/organization/doomed", { token: dora }), 404, "not_found");
    expect((await v2Token(basic("dora", doraPassword), "repository:doomed/app:pull,push")).actions).toEqual([]);
    await expect(v2Token(basic("doomed+ci", robotToken), "repository:doomed/app:pull")).rejects.toThrow(/401/);
    expect((await api("GET", "/repository?namespace=doomed", { token: dora })).json.repositories).toEqual([]);
    // The name stays taken until the purge ends, so nobody inherits what is left.
    expectQuayError(
      await api("POST", "/organization", { token: dora, body: { name: "doomed" } }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("DELETE", "/organization/doomed", { token: dora }), 403, "insufficient_scope");

    const batch = createMessageBatch("wharf-events", [
      {
        id: "o1",
        timestamp: new Date(),
        attempts: 1,
        body: { type: "namespace_deleted", namespace: "doomed", namespaceId: org.id, at: Date.now() },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["o1"]);

    expect(await rows(users, eq(users.id, org.id))).toBe(0);
    expect(await rows(users, eq(users.username, "doomed+ci"))).toBe(0);
    expect(await rows(teams, eq(teams.organizationId, org.id))).toBe(0);
    expect(await rows(oauthApplications, eq(oauthApplications.id, appId))).toBe(0);
    expect(
      (await db().select({ n: count() }).from(repositories).where(eq(repositories.id, repositoryId)).get())!.n,
    ).toBe(0);
    expect(
      (await db().select({ n: count() }).from(accessTokens).where(eq(accessTokens.applicationId, appId)).get())!.n,
    ).toBe(0);
    expectQuayError(await api("GET", "/user", { token: minted }), 401, "invalid_token");

    // The other organization is untouched, and the name can be taken again.
    expect((await v2Token(basic("dora", doraPassword), "repository:kept/app:pull")).actions).toEqual(["pull"]);
    expect((await api("POST", "/organization", { token: dora, body: { name: "doomed" } })).status).toBe(201);
  });

  it("ends the tokens its applications hold at once: hidden from their users, they must not work until the purge", async () => {
    const { minted } = await populated("abandoned");
    expect((await api("GET", "/user", { token: minted })).status).toBe(200);
    expect((await api("DELETE", "/organization/abandoned", { token: dora })).status).toBe(204);
    // Their users can no longer see them (GET /api/v1/user/authorizations hides a deleted
    // organization's applications), so nobody could revoke them.
    expectQuayError(await api("GET", "/user", { token: minted }), 401, "invalid_token");
  });

  it("is for the organization's admins only", async () => {
    await api("POST", "/organization", { token: dora, body: { name: "guarded" } });
    await joinTeam("guarded", "readers", "member", "eve");
    expectQuayError(await api("DELETE", "/organization/guarded", { token: eve }), 403, "insufficient_scope");
    expectQuayError(
      await api("DELETE", "/organization/guarded", { token: await tokenFor("dora", ["user:admin"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("DELETE", "/organization/guarded"), 401, "invalid_token");
    expectQuayError(await api("DELETE", "/organization/nowhere", { token: dora }), 403, "insufficient_scope");
    expect((await api("GET", "/organization/guarded", { token: dora })).status).toBe(200);
  });

  it("never purges a live organization, and purges a big one in bounded steps", async () => {
    const live = (await db().select().from(users).where(eq(users.username, "guarded")).get())!;
    expect(await purgeNamespace(db(), live.id)).toEqual({ done: true });
    expect(await rows(users, eq(users.id, live.id))).toBe(1);

    await api("POST", "/organization", { token: dora, body: { name: "big" } });
    for (let i = 0; i < 12; i++)
      expect((await pushImageWith(await push(`big/r${i}`), `big/r${i}`, "v1")).status).toBe(201);
    const big = (await db().select().from(users).where(eq(users.username, "big")).get())!;
    expect((await api("DELETE", "/organization/big", { token: dora })).status).toBe(204);
    expect(await purgeNamespace(db(), big.id)).toEqual({ done: false });
    expect(await rows(users, eq(users.id, big.id))).toBe(1);
    expect(await purgeNamespace(db(), big.id)).toEqual({ done: true });
    expect(await rows(users, eq(users.id, big.id))).toBe(0);
    expect(
      (await db().select({ n: count() }).from(repositories).where(eq(repositories.namespace, "big")).get())!.n,
    ).toBe(0);
  });
});
