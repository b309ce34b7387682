import { and, eq, isNotNull } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { repositories, repositoryPermissions, teams, users } from "../../../src/db/schema";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { basic, db, joinTeam, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";

let olga: string;
let carl: string;
let carlPassword: string;
let miaPassword: string;
let botToken: string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every explicit grant on `name`: `user:<name>` or `team:<name>` → role. */
async function grantsOn(name: string): Promise<Record<string, string>> {
  const repository = (await db().select().from(repositories).where(eq(repositories.name, name)).get())!;
  const userRows = await db()
    .select({ who: users.username, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .innerJoin(users, eq(users.id, repositoryPermissions.userId))
    .where(eq(repositoryPermissions.repositoryId, repository.id))
    .all();
  const teamRows = await db()
    .select({ who: teams.name, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .innerJoin(teams, eq(teams.id, repositoryPermissions.teamId))
    .where(and(eq(repositoryPermissions.repositoryId, repository.id), isNotNull(repositoryPermissions.teamId)))
    .all();
  return Object.fromEntries([
    ...userRows.map((r) => [`user:${r.who}`, r.role]),
    ...teamRows.map((r) => [`team:${r.who}`, r.role]),
  ]);
}

const prototypes = "/organization/corp/prototypes";

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  carlPassword = await makeUser(admin, "carl");
  miaPassword = await makeUser(admin, "mia");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  carl = await tokenFor("carl");
  expect((await api("POST", "/organization", { token: olga, body: { name: "corp" } })).status).toBe(201);
  // Teams are written directly: the team API is another module's.
  await joinTeam("corp", "builders", "creator", "carl");
  await joinTeam("corp", "readers", "member", "mia");
  const robot = await api("PUT", "/organization/corp/robots/bot", { token: olga, body: {} });
  expect(robot.status).toBe(201);
  botToken = robot.json.token;
  await joinTeam("corp", "builders", "creator", "corp+bot");
  await api("PUT", "/user/robots/mine", { token: olga, body: {} });
});

describe("/api/v1/organization/{orgname}/prototypes", () => {
  it("creates, lists, changes and deletes default permissions with Quay's JSON", async () => {
    const anyone = await api("POST", prototypes, {
      token: olga,
      body: { role: "read", delegate: { name: "gus", kind: "user" } },
    });
    expect(anyone.status).toBe(200);
    expect(anyone.json).toEqual({
      activating_user: null,
      delegate: {
        name: "gus",
        is_robot: false,
        kind: "user",
        is_org_member: false,
        avatar: expect.objectContaining({ name: "gus", kind: "user" }),
      },
      role: "read",
      id: expect.stringMatching(UUID),
    });
    const specific = await api("POST", prototypes, {
      token: olga,
      body: { role: "write", delegate: { name: "readers", kind: "team" }, activating_user: { name: "corp+bot" } },
    });
    expect(specific.json).toEqual({
      activating_user: {
        name: "corp+bot",
        is_robot: true,
        kind: "user",
        is_org_member: true,
        avatar: expect.objectContaining({ name: "corp+bot", kind: "robot" }),
      },
      delegate: { name: "readers", kind: "team", avatar: expect.objectContaining({ name: "readers", kind: "team" }) },
      role: "write",
      id: expect.stringMatching(UUID),
    });
    const member = await api("POST", prototypes, {
      token: olga,
      body: { role: "admin", delegate: { name: "mia", kind: "user" }, activating_user: { name: "carl" } },
    });
    expect(member.json.delegate).toMatchObject({ name: "mia", is_org_member: true });
    expect(member.json.activating_user).toMatchObject({
      name: "carl",
      is_robot: false,
      is_org_member: true,
      avatar: expect.objectContaining({ kind: "user" }),
    });

    const list = await api("GET", prototypes, { token: olga });
    expect(list.json.prototypes.map((p: { id: string }) => p.id)).toEqual([
      anyone.json.id,
      specific.json.id,
      member.json.id,
    ]);

    const changed = await api("PUT", `${prototypes}/${member.json.id}`, { token: olga, body: { role: "read" } });
    expect(changed.json).toEqual({ ...member.json, role: "read" });
    expect((await api("DELETE", `${prototypes}/${member.json.id}`, { token: olga })).status).toBe(204);
    expectQuayError(await api("DELETE", `${prototypes}/${member.json.id}`, { token: olga }), 404, "not_found");
    expectQuayError(
      await api("PUT", `${prototypes}/${member.json.id}`, { token: olga, body: { role: "read" } }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("PUT", `${prototypes}/not-a-uuid`, { token: olga, body: { role: "read" } }),
      404,
      "not_found",
    );
    expect((await api("GET", prototypes, { token: olga })).json.prototypes).toHaveLength(2);
  });

  it("is for the organization's admins with org:admin only", async () => {
    const body = { role: "read", delegate: { name: "gus", kind: "user" } };
    expectQuayError(await api("GET", prototypes), 401, "invalid_token");
    expectQuayError(await api("GET", prototypes, { token: carl }), 403, "insufficient_scope");
    expectQuayError(await api("POST", prototypes, { token: carl, body }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", prototypes, { token: await tokenFor("olga", ["repo:admin", "user:admin"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("GET", "/organization/nocorp/prototypes", { token: olga }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/olga/prototypes", { token: olga }), 403, "insufficient_scope");
    const id = (await api("GET", prototypes, { token: olga })).json.prototypes[0].id;
    expectQuayError(
      await api("PUT", `${prototypes}/${id}`, { token: carl, body: { role: "admin" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("DELETE", `${prototypes}/${id}`, { token: carl }), 403, "insufficient_scope");
  });

  it("refuses bad bodies and delegates that could never be granted", async () => {
    const post = (body: unknown) => api("POST", prototypes, { token: olga, body });
    expectQuayError(
      await post({ role: "owner", delegate: { name: "gus", kind: "user" } }),
      400,
      "invalid_request",
      /role/,
    );
    expectQuayError(await post({ role: "read" }), 400, "invalid_request", /delegate/);
    expectQuayError(await post({ role: "read", delegate: { name: "gus", kind: "robot" } }), 400, "invalid_request");
    expectQuayError(
      await post({ role: "read", delegate: { name: "nobody", kind: "user" } }),
      400,
      "invalid_request",
      "Missing delegate user or team",
    );
    expectQuayError(
      await post({ role: "read", delegate: { name: "corp", kind: "user" } }),
      400,
      "invalid_request",
      "Missing delegate user or team",
    );
    expectQuayError(
      await post({ role: "read", delegate: { name: "ghosts", kind: "team" } }),
      400,
      "invalid_request",
      "Missing delegate user or team",
    );
    expectQuayError(
      await post({ role: "read", delegate: { name: "olga+mine", kind: "user" } }),
      400,
      "invalid_request",
      "Cannot add robot olga+mine under namespace corp",
    );
    expectQuayError(
      await post({ role: "read", delegate: { name: "gus", kind: "user" }, activating_user: { name: "nobody" } }),
      400,
      "invalid_request",
      "Unknown activating user",
    );
    expectQuayError(
      await post({ role: "read", delegate: { name: "gus", kind: "user" }, activating_user: {} }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", `${prototypes}/${crypto.randomUUID()}`, { token: olga, body: { role: "super" } }),
      404,
      "not_found",
    );
  });
});

describe("default permissions applied when a repository is created", () => {
  it("by the API: the creator gets admin, 'anyone' prototypes apply, another creator's do not", async () => {
    const res = await api("POST", "/repository", {
      token: carl,
      body: { namespace: "corp", repository: "viaapi", visibility: "private", description: "" },
    });
    expect(res.status).toBe(201);
    // gus: read for anyone's repositories; readers: write only for corp+bot's.
    expect(await grantsOn("corp/viaapi")).toEqual({ "user:carl": "admin", "user:gus": "read" });
    expect((await api("GET", "/repository/corp/viaapi", { token: carl })).json).toMatchObject({
      is_organization: true,
      can_admin: true,
    });
  });

  it("by a push: a creator team's robot creates, and the prototypes naming it apply", async () => {
    const { token, actions } = await v2Token(basic("corp+bot", botToken), "repository:corp/viarobot:pull,push");
    expect(actions).toEqual(["pull", "push"]);
    expect((await pushImageWith(token, "corp/viarobot", "v1")).status).toBe(201);
    expect(await grantsOn("corp/viarobot")).toEqual({
      "user:corp+bot": "admin",
      "user:gus": "read",
      "team:readers": "write",
    });
    const mia = await v2Token(basic("mia", miaPassword), "repository:corp/viarobot:pull,push");
    expect(mia.actions).toEqual(["pull", "push"]);
  });

  it("by a push of a creator-team member; a plain member gets no push on a new name", async () => {
    const { token } = await v2Token(basic("carl", carlPassword), "repository:corp/bycarl:pull,push");
    expect((await pushImageWith(token, "corp/bycarl", "v1")).status).toBe(201);
    expect(await grantsOn("corp/bycarl")).toEqual({ "user:carl": "admin", "user:gus": "read" });
    expect((await v2Token(basic("mia", miaPassword), "repository:corp/bymia:pull,push")).actions).toEqual([]);
    expectQuayError(
      await api("POST", "/repository", {
        token: await tokenFor("mia"),
        body: { namespace: "corp", repository: "bymia", visibility: "private", description: "" },
      }),
      403,
      "insufficient_scope",
    );
  });

  it("lets a prototype naming the creator pre-empt the 'anyone' ones (Quay), else the strongest wins", async () => {
    const made = [];
    for (const body of [
      { role: "admin", delegate: { name: "mia", kind: "user" } },
      { role: "read", delegate: { name: "mia", kind: "user" }, activating_user: { name: "carl" } },
      { role: "read", delegate: { name: "builders", kind: "team" } },
      { role: "write", delegate: { name: "builders", kind: "team" } },
      { role: "admin", delegate: { name: "carl", kind: "user" } },
    ]) {
      made.push((await api("POST", prototypes, { token: olga, body })).json.id);
    }
    await api("POST", "/repository", {
      token: carl,
      body: { namespace: "corp", repository: "bycarl2", visibility: "private", description: "" },
    });
    expect(await grantsOn("corp/bycarl2")).toEqual({
      "user:carl": "admin",
      "user:gus": "read",
      "user:mia": "read",
      "team:builders": "write",
    });
    await api("POST", "/repository", {
      token: olga,
      body: { namespace: "corp", repository: "byolga", visibility: "private", description: "" },
    });
    expect(await grantsOn("corp/byolga")).toEqual({
      "user:olga": "admin",
      "user:gus": "read",
      "user:mia": "admin",
      "team:builders": "write",
      "user:carl": "admin",
    });
    for (const id of made) await api("DELETE", `${prototypes}/${id}`, { token: olga });
  });

  it("gives no grants in a user's own namespace", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "personal", visibility: "private", description: "" },
    });
    expect(await grantsOn("olga/personal")).toEqual({});
  });
});
