/**
 * One member of an organization (`GET|DELETE /api/v1/organization/{orgname}/members/{membername}`,
 * Quay `endpoints/api/organization.py` `OrganizationMember`) and a user's transitive permissions
 * (`GET …/permissions/user/{username}/transitive`, Quay `endpoints/api/permission.py`).
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { users } from "../../../src/db/schema";
import { findOrganization, organizationRole } from "../../../src/identity/organizations";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import {
  api,
  avatarMatching,
  createPrivateRepository,
  fixtureCall,
  expectQuayError,
  initializeAdmin,
} from "../helpers/api";
import { recordEvents } from "../helpers/events";

let admin: string;
/** olive owns `memberorg`; mia is in its team `devs`; max is in no team. */
let olive: string;

const ORG = "memberorg";

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olive", "mia", "max", "nina"]) await makeUser(admin, name);
  olive = await tokenFor("olive");
  await fixtureCall(olive, "POST", "/organization/", { name: ORG });
  await fixtureCall(olive, "PUT", `/organization/${ORG}/team/devs`, { role: "member" });
  await fixtureCall(olive, "PUT", `/organization/${ORG}/team/devs/members/mia`);
  await fixtureCall(olive, "PUT", `/organization/${ORG}/robots/ci`);
  await createPrivateRepository(olive, ORG, "app");
  await fixtureCall(olive, "PUT", `/repository/${ORG}/app/permissions/user/mia`, { role: "write" });
  await fixtureCall(olive, "PUT", `/repository/${ORG}/app/permissions/user/max`, { role: "read" });
  await fixtureCall(olive, "PUT", `/repository/${ORG}/app/permissions/team/devs`, { role: "read" });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GET /organization/{orgname}/members/{membername}", () => {
  it("answers a team member's teams and direct repositories", async () => {
    const res = await api("GET", `/organization/${ORG}/members/mia`, { token: olive });
    expect(res.status).toBe(200);
    // Quay endpoints/api/organization.py OrganizationMember.get: name, kind, avatar, teams
    // ({name, avatar}), repositories (names within the organization).
    expect(res.json).toEqual({
      name: "mia",
      kind: "user",
      avatar: avatarMatching("mia", "user"),
      teams: [{ name: "devs", avatar: avatarMatching("devs", "team") }],
      repositories: ["app"],
    });
  });

  it("answers the organization's own robot, in no team, as a member", async () => {
    const res = await api("GET", `/organization/${ORG}/members/${ORG}+ci`, { token: olive });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      name: `${ORG}+ci`,
      kind: "robot",
      avatar: avatarMatching(`${ORG}+ci`, "robot"),
      teams: [],
      repositories: [],
    });
  });

  it("answers 404 for an unknown name, an organization, and someone in no team (a direct grant is no membership)", async () => {
    for (const name of ["nobody", ORG, "max"])
      expectQuayError(await api("GET", `/organization/${ORG}/members/${name}`, { token: olive }), 404, "not_found");
  });

  it("refuses anonymous callers (401), members who are no admin and tokens without org:admin (403)", async () => {
    expectQuayError(await api("GET", `/organization/${ORG}/members/mia`), 401, "invalid_token");
    expectQuayError(
      await api("GET", `/organization/${ORG}/members/mia`, { token: await tokenFor("mia") }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("GET", `/organization/${ORG}/members/mia`, { token: await tokenFor("olive", ["user:read"]) }),
      403,
      "insufficient_scope",
    );
    // The same 403 for an organization that does not exist.
    expectQuayError(
      await api("GET", "/organization/no-such-org/members/mia", { token: olive }),
      403,
      "insufficient_scope",
    );
  });
});

describe("DELETE /organization/{orgname}/members/{membername}", () => {
  it("removes the person from every team and every repository permission, with one event each", async () => {
    await makeUser(admin, "leo");
    await fixtureCall(olive, "PUT", `/organization/${ORG}/team/devs/members/leo`);
    await joinTeam(ORG, "ops", "creator", "leo");
    await fixtureCall(olive, "PUT", `/repository/${ORG}/app/permissions/user/leo`, { role: "admin" });
    const recorder = recordEvents();
    const res = await api("DELETE", `/organization/${ORG}/members/leo`, { token: olive });
    expect(res.status).toBe(204);
    const leo = (await db().select().from(users).where(eq(users.username, "leo")).get())!;
    expect(await organizationRole(db(), leo.id, ORG)).toBeNull();
    expectQuayError(await api("GET", `/organization/${ORG}/members/leo`, { token: olive }), 404, "not_found");
    expectQuayError(
      await api("GET", `/repository/${ORG}/app/permissions/user/leo`, { token: olive }),
      400,
      "invalid_request",
    );
    const removed = await recorder.published("org_remove_team_member");
    expect(removed.map((e) => e.data.team.name).sort()).toEqual(["devs", "ops"]);
    expect(removed.every((e) => e.data.member.name === "leo" && e.namespace === ORG)).toBe(true);
    const revoked = await recorder.published("delete_repo_permission");
    expect(revoked.map((e) => [e.repository?.name, e.data.delegate.name])).toEqual([[`${ORG}/app`, "leo"]]);
    // Mia, in the same team, stays.
    expect((await api("GET", `/organization/${ORG}/members/mia`, { token: olive })).status).toBe(200);
  });

  it("answers 204 and changes nothing for someone who belongs to nothing here", async () => {
    const recorder = recordEvents();
    expect((await api("DELETE", `/organization/${ORG}/members/nina`, { token: olive })).status).toBe(204);
    expect(await recorder.published()).toEqual([]);
  });

  it("refuses removing the only admin, with Quay's message", async () => {
    expectQuayError(
      await api("DELETE", `/organization/${ORG}/members/olive`, { token: olive }),
      400,
      "invalid_request",
      "Cannot remove user as they are the only organization admin",
    );
    const oliveRow = (await db().select().from(users).where(eq(users.username, "olive")).get())!;
    expect(await organizationRole(db(), oliveRow.id, ORG)).toBe("admin");
  });

  it("answers 404 for a robot (Quay's get_nonrobot_user) and an unknown name", async () => {
    for (const name of [`${ORG}+ci`, "nobody"])
      expectQuayError(await api("DELETE", `/organization/${ORG}/members/${name}`, { token: olive }), 404, "not_found");
    expect((await api("GET", `/organization/${ORG}/members/${ORG}+ci`, { token: olive })).status).toBe(200);
  });

  it("refuses anonymous callers (401), members who are no admin and tokens without org:admin (403)", async () => {
    expectQuayError(await api("DELETE", `/organization/${ORG}/members/mia`), 401, "invalid_token");
    expectQuayError(
      await api("DELETE", `/organization/${ORG}/members/mia`, { token: await tokenFor("mia") }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("DELETE", `/organization/${ORG}/members/mia`, { token: await tokenFor("olive", ["repo:admin"]) }),
      403,
      "insufficient_scope",
    );
    expect((await api("GET", `/organization/${ORG}/members/mia`, { token: olive })).status).toBe(200);
    expect(await findOrganization(db(), ORG)).toBeDefined();
  });
});

describe("GET /repository/{repository}/permissions/user/{username}/transitive", () => {
  const path = (user: string) => `/repository/${ORG}/app/permissions/user/${user}/transitive`;

  it("lists the user's own role and its teams' roles", async () => {
    const res = await api("GET", path("mia"), { token: olive });
    expect(res.status).toBe(200);
    // Quay endpoints/api/permission.py TransitivePermissionsList: {permissions: [{role}]}, one per grant.
    expect(res.json).toEqual({ permissions: [{ role: "write" }, { role: "read" }] });
    expect((await api("GET", path("max"), { token: olive })).json).toEqual({ permissions: [{ role: "read" }] });
    // The repository's creator holds an explicit admin grant, as in Quay.
    expect((await api("GET", path("olive"), { token: olive })).json).toEqual({ permissions: [{ role: "admin" }] });
  });

  it("answers 404 for a user holding no grant and for an unknown user or an organization", async () => {
    for (const user of ["nina", "nobody", ORG])
      expectQuayError(await api("GET", path(user), { token: olive }), 404, "not_found");
  });

  it("refuses anonymous callers (401), non-admins of the repository and tokens without repo:admin (403)", async () => {
    expectQuayError(await api("GET", path("mia")), 401, "invalid_token");
    expectQuayError(await api("GET", path("mia"), { token: await tokenFor("mia") }), 403, "insufficient_scope");
    expectQuayError(
      await api("GET", path("mia"), { token: await tokenFor("olive", ["repo:write", "org:admin"]) }),
      403,
      "insufficient_scope",
    );
    // The same 403 for a repository that does not exist.
    expectQuayError(
      await api("GET", `/repository/${ORG}/nothing/permissions/user/mia/transitive`, { token: await tokenFor("mia") }),
      403,
      "insufficient_scope",
    );
  });
});
