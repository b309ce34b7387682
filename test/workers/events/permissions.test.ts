/**
 * Events of repository permissions and default permissions (docs/events.md, "Identity and account
 * events"): `add_repo_permission`, `change_repo_permission`, `delete_repo_permission` for users,
 * robots and teams, and `create|modify|delete_prototype_permission`. Each action through its real
 * route publishes exactly one event with the documented fields, actor and address; a refused one
 * (or one that changes nothing) publishes none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findTeam } from "../../../src/identity/teams";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";

const IP = "203.0.113.9";
const fromIp = { "CF-Connecting-IP": IP };
let olga: string;
let gus: string;
let ids: Record<string, number>;
let repositoryId: number;
let teamId: number;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "gus", "vera"]) await makeUser(admin, name);
  [olga, gus] = await Promise.all([tokenFor("olga"), tokenFor("gus")]);
  expect((await api("POST", "/organization", { token: olga, body: { name: "acme" } })).status).toBe(201);
  expect((await api("PUT", "/organization/acme/robots/ci", { token: olga, body: {} })).status).toBe(201);
  teamId = await joinTeam("acme", "devs", "member", "vera");
  const made = await api("POST", "/repository", {
    token: olga,
    body: { namespace: "acme", repository: "app", visibility: "private", description: "" },
  });
  expect(made.status).toBe(201);
  repositoryId = (await findRepository(db(), "acme/app"))!.id;
  ids = {};
  for (const name of ["olga", "vera", "acme+ci"]) ids[name] = (await findUser(db(), name))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const olgaToken = () => ({ kind: "token", name: "olga", id: ids.olga, token: "oauth" });

/** The envelope of an event about acme/app, caused by olga's token from {@link IP}. */
const aboutApp = (kind: string, data: unknown) => ({
  id: expect.any(String),
  kind,
  at: expect.any(Number),
  namespace: "acme",
  repository: { id: repositoryId, name: "acme/app" },
  actor: olgaToken(),
  ip: IP,
  data,
});

const USERS = "/repository/acme/app/permissions/user";
const TEAMS = "/repository/acme/app/permissions/team";

describe("repository permissions", () => {
  for (const [who, path, delegate] of [
    ["a user", `${USERS}/vera`, () => ({ kind: "user", name: "vera", id: ids.vera })],
    ["a robot", `${USERS}/acme+ci`, () => ({ kind: "robot", name: "acme+ci", id: ids["acme+ci"] })],
    ["a team", `${TEAMS}/devs`, () => ({ kind: "team", name: "devs", id: teamId })],
  ] as const) {
    it(`${who}: add, change, the same role again, delete: one event per change`, async () => {
      const recorder = recordEvents();
      const put = (role: string) => api("PUT", path, { token: olga, headers: fromIp, body: { role } });
      expect((await put("read")).status).toBe(200);
      expect(await recorder.published()).toEqual([
        aboutApp("add_repo_permission", { delegate: delegate(), role: "read" }),
      ]);
      expect((await put("write")).status).toBe(200);
      expect((await put("write")).status).toBe(200);
      expect(await recorder.published("change_repo_permission")).toEqual([
        aboutApp("change_repo_permission", { delegate: delegate(), role: "write" }),
      ]);
      expect((await api("DELETE", path, { token: olga, headers: fromIp })).status).toBe(204);
      expect(await recorder.published("delete_repo_permission")).toEqual([
        aboutApp("delete_repo_permission", { delegate: delegate() }),
      ]);
      expect(recorder.sent).toHaveLength(3);
    });
  }

  it("refused changes publish nothing: another's repository (403), a bad role (400), no grant to delete (400)", async () => {
    const recorder = recordEvents();
    expect((await api("PUT", `${USERS}/vera`, { token: gus, body: { role: "read" } })).status).toBe(403);
    expect((await api("PUT", `${USERS}/vera`, { token: olga, body: { role: "owner" } })).status).toBe(400);
    expect((await api("PUT", `${USERS}/nobody`, { token: olga, body: { role: "read" } })).status).toBe(400);
    expect((await api("PUT", `${TEAMS}/ghosts`, { token: olga, body: { role: "read" } })).status).toBe(400);
    expect((await api("DELETE", `${USERS}/vera`, { token: olga })).status).toBe(400);
    expect((await api("DELETE", `${TEAMS}/devs`, { token: olga })).status).toBe(400);
    expect((await api("DELETE", "/repository/acme/none/permissions/user/vera", { token: olga })).status).toBe(404);
    expect(await recorder.published()).toEqual([]);
  });
});

describe("default permissions (prototypes)", () => {
  const BASE = "/organization/acme/prototypes";
  const inAcme = (kind: string, data: unknown) => ({ ...aboutApp(kind, data), repository: null });

  it("create, modify, delete: one event each, naming the prototype, its role and delegate", async () => {
    const recorder = recordEvents();
    const created = await api("POST", BASE, {
      token: olga,
      headers: fromIp,
      body: { role: "read", delegate: { name: "devs", kind: "team" }, activating_user: { name: "vera" } },
    });
    expect(created.status).toBe(200);
    const prototype = created.json.id as string;
    const team = {
      kind: "team",
      name: "devs",
      id: (await findTeam(db(), (await findUser(db(), "acme"))!, "devs"))!.id,
    };
    expect(await recorder.published()).toEqual([
      inAcme("create_prototype_permission", {
        prototype,
        role: "read",
        delegate: team,
        activatingUser: { kind: "user", name: "vera", id: ids.vera },
      }),
    ]);
    const modify = (role: string) =>
      api("PUT", `${BASE}/${prototype}`, { token: olga, headers: fromIp, body: { role } });
    expect((await modify("admin")).status).toBe(200);
    expect((await modify("admin")).status).toBe(200);
    expect(await recorder.published("modify_prototype_permission")).toEqual([
      inAcme("modify_prototype_permission", { prototype, role: "admin", delegate: team }),
    ]);
    expect((await api("DELETE", `${BASE}/${prototype}`, { token: olga, headers: fromIp })).status).toBe(204);
    expect(await recorder.published("delete_prototype_permission")).toEqual([
      inAcme("delete_prototype_permission", { prototype, role: "admin", delegate: team }),
    ]);
    expect(recorder.sent).toHaveLength(3);
  });

  it("refused ones publish nothing: an outsider (403), an unknown delegate (400), an unknown prototype (404)", async () => {
    const recorder = recordEvents();
    const body = { role: "read", delegate: { name: "vera", kind: "user" } };
    expect((await api("POST", BASE, { token: gus, body })).status).toBe(403);
    const unknown = { role: "read", delegate: { name: "nobody", kind: "user" } };
    expect((await api("POST", BASE, { token: olga, body: unknown })).status).toBe(400);
    const missing = `${BASE}/00000000-0000-4000-8000-000000000000`;
    expect((await api("PUT", missing, { token: olga, body: { role: "read" } })).status).toBe(404);
    expect((await api("DELETE", missing, { token: olga })).status).toBe(404);
    expect(await recorder.published()).toEqual([]);
  });
});
