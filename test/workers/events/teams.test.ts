/**
 * Events of an organization's teams (docs/events.md, "Identity and account events"): creation,
 * role, description and deletion; members added and removed; invitations made, cancelled,
 * accepted and declined. Each through its real route publishes exactly one event with the
 * documented fields, actor and address; a refused action publishes none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findOrganization } from "../../../src/identity/organizations";
import { findTeam } from "../../../src/identity/teams";
import { findUser } from "../../../src/identity/users";
import { db, invitationCode, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";

const IP = "198.51.100.20";
const fromIp = { "CF-Connecting-IP": IP };
let olga: string;
let gus: string;
let vera: string;
let ids: Record<string, number>;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "gus", "vera"]) await makeUser(admin, name);
  [olga, gus, vera] = await Promise.all([tokenFor("olga"), tokenFor("gus"), tokenFor("vera")]);
  expect((await api("POST", "/organization", { token: olga, body: { name: "acme" } })).status).toBe(201);
  ids = {};
  for (const name of ["olga", "gus", "vera"]) ids[name] = (await findUser(db(), name))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const teamIdOf = async (name: string) => (await findTeam(db(), (await findOrganization(db(), "acme"))!, name))!.id;

/** An event of organization acme by `actor` (olga's token unless said) from `ip`. */
const inAcme = (kind: string, data: unknown, actor: unknown = olgaToken(), ip: string | null = IP) => ({
  id: expect.any(String),
  kind,
  at: expect.any(Number),
  namespace: "acme",
  repository: null,
  actor,
  ip,
  data,
});
const olgaToken = () => ({ kind: "token", name: "olga", id: ids.olga, token: "oauth" });
const TEAM = "/organization/acme/team";

describe("teams", () => {
  it("creating, changing role and description, and deleting a team: one event per change", async () => {
    const recorder = recordEvents();
    const put = (body: unknown) => api("PUT", `${TEAM}/builders`, { token: olga, headers: fromIp, body });
    expect((await put({ role: "member", description: "Builds" })).status).toBe(200);
    const team = { name: "builders", id: await teamIdOf("builders") };
    expect(await recorder.published()).toEqual([
      inAcme("org_create_team", { team, role: "member", description: "Builds" }),
    ]);
    expect((await put({ role: "creator", description: "Builds it all" })).status).toBe(200);
    expect((await put({ role: "creator", description: "Builds it all" })).status).toBe(200);
    expect(await recorder.published()).toHaveLength(3);
    expect(recorder.sent.slice(1)).toEqual([
      inAcme("org_set_team_description", { team, description: "Builds it all" }),
      inAcme("org_set_team_role", { team, role: "creator" }),
    ]);
    expect((await api("DELETE", `${TEAM}/builders`, { token: olga, headers: fromIp })).status).toBe(204);
    expect(await recorder.published("org_delete_team")).toEqual([inAcme("org_delete_team", { team })]);
  });

  it("refused team changes publish nothing: an outsider (403), a bad name (400), owners kept (400), none (404)", async () => {
    const recorder = recordEvents();
    expect((await api("PUT", `${TEAM}/x1`, { token: gus, body: { role: "member" } })).status).toBe(403);
    expect((await api("PUT", `${TEAM}/Bad!`, { token: olga, body: { role: "member" } })).status).toBe(400);
    expect((await api("PUT", `${TEAM}/owners`, { token: olga, body: { role: "member" } })).status).toBe(400);
    expect((await api("DELETE", `${TEAM}/owners`, { token: olga })).status).toBe(400);
    expect((await api("DELETE", `${TEAM}/ghosts`, { token: olga })).status).toBe(404);
    expect(await recorder.published()).toEqual([]);
  });
});

describe("members", () => {
  it("adding and removing a member: one event each, naming the team and the member", async () => {
    expect((await api("PUT", `${TEAM}/devs`, { token: olga, body: { role: "member" } })).status).toBe(200);
    const team = { name: "devs", id: await teamIdOf("devs") };
    const member = { kind: "user", name: "gus", id: ids.gus };
    const recorder = recordEvents();
    expect((await api("PUT", `${TEAM}/devs/members/gus`, { token: olga, headers: fromIp })).status).toBe(200);
    expect(await recorder.published()).toEqual([inAcme("org_add_team_member", { team, member })]);
    // Already a member (Quay's 400), an unknown user (400), an outsider (403): nothing.
    expect((await api("PUT", `${TEAM}/devs/members/gus`, { token: olga })).status).toBe(400);
    expect((await api("PUT", `${TEAM}/devs/members/nobody`, { token: olga })).status).toBe(400);
    expect((await api("PUT", `${TEAM}/devs/members/vera`, { token: gus })).status).toBe(403);
    expect((await api("DELETE", `${TEAM}/devs/members/gus`, { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", `${TEAM}/devs/members/gus`, { token: olga })).status).toBe(400);
    expect(await recorder.published()).toEqual([
      inAcme("org_add_team_member", { team, member }),
      inAcme("org_remove_team_member", { team, member }),
    ]);
  });
});

describe("invitations", () => {
  it("inviting an email and cancelling it: one event each", async () => {
    const team = { name: "devs", id: await teamIdOf("devs") };
    const recorder = recordEvents();
    const invite = `${TEAM}/devs/invite/someone@example.com`;
    expect((await api("PUT", invite, { token: olga, headers: fromIp })).status).toBe(200);
    expect(await recorder.published()).toEqual([
      inAcme("org_invite_team_member", { team, email: "someone@example.com" }),
    ]);
    expect((await api("DELETE", invite, { token: olga, headers: fromIp })).status).toBe(204);
    expect((await api("DELETE", invite, { token: olga })).status).toBe(404);
    expect((await api("PUT", invite, { token: gus })).status).toBe(403);
    expect(await recorder.published("org_delete_team_member_invite")).toEqual([
      inAcme("org_delete_team_member_invite", { team, email: "someone@example.com", member: null }),
    ]);
    expect(recorder.sent).toHaveLength(2);
  });

  it("the invitee accepting (one event per team joined) and declining, with their own token", async () => {
    for (const name of ["qa", "ops"])
      expect((await api("PUT", `${TEAM}/${name}`, { token: olga, body: { role: "member" } })).status).toBe(200);
    const invite = (name: string) => invitationCode("acme", name, "olga", "vera@example.com");
    const [qa, ops] = [await invite("qa"), await invite("ops")];
    const veraToken = { kind: "token", name: "vera", id: ids.vera, token: "oauth" };
    const member = { kind: "user", name: "vera", id: ids.vera };
    const recorder = recordEvents();
    expect((await api("PUT", "/teaminvite/not-a-code", { token: vera })).status).toBe(400);
    expect((await api("PUT", `/teaminvite/${qa}`, { token: gus })).status).toBe(400);
    expect(await recorder.published()).toEqual([]);
    expect((await api("PUT", `/teaminvite/${qa}`, { token: vera, headers: fromIp })).status).toBe(200);
    const accepted = await recorder.published("org_team_member_invite_accepted");
    expect(accepted.sort((a, b) => a.data.team.name.localeCompare(b.data.team.name))).toEqual([
      inAcme(
        "org_team_member_invite_accepted",
        { team: { name: "ops", id: await teamIdOf("ops") }, member },
        veraToken,
      ),
      inAcme("org_team_member_invite_accepted", { team: { name: "qa", id: await teamIdOf("qa") }, member }, veraToken),
    ]);
    expect((await api("PUT", `/teaminvite/${ops}`, { token: vera })).status).toBe(400);

    expect((await api("PUT", `${TEAM}/qa-2`, { token: olga, body: { role: "member" } })).status).toBe(200);
    const declined = await invite("qa-2");
    const team = { name: "qa-2", id: await teamIdOf("qa-2") };
    expect((await api("DELETE", `/teaminvite/${declined}`, { token: gus })).status).toBe(400);
    expect((await api("DELETE", `/teaminvite/${declined}`, { token: vera, headers: fromIp })).status).toBe(204);
    expect(await recorder.published("org_team_member_invite_declined")).toEqual([
      inAcme("org_team_member_invite_declined", { team, member }, veraToken),
    ]);
    expect(recorder.sent.map((e) => e.kind)).toEqual([
      "org_team_member_invite_accepted",
      "org_team_member_invite_accepted",
      "org_create_team",
      "org_invite_team_member",
      "org_team_member_invite_declined",
    ]);
  });
});
