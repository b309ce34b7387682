/**
 * Events of robots and auto-prune policies (docs/events.md, "Identity and account events"):
 * `create_robot`, `regenerate_robot_token`, `delete_robot`, `create|delete_robot_federation`,
 * `federated_robot_token_exchange` (a refused exchange is a `login_failure`), and the namespace's
 * and a repository's `create|update|delete_…_autoprune_policy`. Each through its real route
 * publishes exactly one event with the documented fields; a refused action publishes none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { serveIdentityProvider } from "../helpers/identity-provider";
import { recordEvents } from "../helpers/events";
import { request } from "../helpers/registry";

const IP = "203.0.113.77";
const fromIp = { "CF-Connecting-IP": IP };
const ISSUER = "https://idp.test/realms/ci";
let olga: string;
let gus: string;
let olgaId: number;

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "gus"]) await makeUser(admin, name);
  [olga, gus] = await Promise.all([tokenFor("olga"), tokenFor("gus")]);
  olgaId = (await findUser(db(), "olga"))!.id;
  expect((await api("POST", "/organization", { token: olga, body: { name: "acme" } })).status).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const olgaToken = () => ({ kind: "token", name: "olga", id: olgaId, token: "oauth" });
const event = (kind: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  id: expect.any(String),
  kind,
  at: expect.any(Number),
  namespace: "acme",
  repository: null,
  actor: olgaToken(),
  ip: IP,
  data,
  ...extra,
});
const ROBOT = "/organization/acme/robots/builder";

describe("robots", () => {
  it("created, token regenerated, federation set and removed, deleted: one event each", async () => {
    const recorder = recordEvents();
    const made = await api("PUT", ROBOT, { token: olga, headers: fromIp, body: { description: "CI" } });
    expect(made.status).toBe(201);
    const robot = { name: "acme+builder", id: (await findUser(db(), "acme+builder"))!.id };
    expect((await api("POST", `${ROBOT}/regenerate`, { token: olga, headers: fromIp })).status).toBe(200);
    const federation = [{ issuer: ISSUER, subject: "ci" }];
    expect((await api("POST", `${ROBOT}/federation`, { token: olga, headers: fromIp, body: federation })).status).toBe(
      200,
    );
    expect((await api("DELETE", `${ROBOT}/federation`, { token: olga, headers: fromIp })).status).toBe(204);
    // Nothing left to remove: no change, no event.
    expect((await api("DELETE", `${ROBOT}/federation`, { token: olga, headers: fromIp })).status).toBe(204);
    expect(await recorder.published()).toEqual([
      event("create_robot", { robot, description: "CI" }),
      event("regenerate_robot_token", { robot }),
      event("create_robot_federation", { robot, federation }),
      event("delete_robot_federation", { robot }),
    ]);
    expect((await api("DELETE", ROBOT, { token: olga, headers: fromIp })).status).toBe(204);
    expect(await recorder.published("delete_robot")).toEqual([event("delete_robot", { robot })]);
  });

  it("refused robot changes publish nothing: an outsider (403), a taken or bad name (400), a missing robot (400)", async () => {
    expect((await api("PUT", `${ROBOT}-2`, { token: olga, body: {} })).status).toBe(201);
    const recorder = recordEvents();
    expect((await api("PUT", `${ROBOT}-3`, { token: gus, body: {} })).status).toBe(403);
    expect((await api("PUT", `${ROBOT}-2`, { token: olga, body: {} })).status).toBe(400);
    expect((await api("PUT", "/organization/acme/robots/Bad!", { token: olga, body: {} })).status).toBe(400);
    expect((await api("POST", `${ROBOT}-9/regenerate`, { token: olga })).status).toBe(400);
    expect((await api("DELETE", `${ROBOT}-9`, { token: olga })).status).toBe(400);
    const duplicate = [
      { issuer: ISSUER, subject: "a" },
      { issuer: ISSUER, subject: "a" },
    ];
    expect((await api("POST", `${ROBOT}-2/federation`, { token: olga, body: duplicate })).status).toBe(400);
    expect((await api("DELETE", `${ROBOT}-2/federation`, { token: gus })).status).toBe(403);
    expect(await recorder.published()).toEqual([]);
  });

  it("a federated exchange is federated_robot_token_exchange by the robot; a refused one a login_failure", async () => {
    expect((await api("PUT", "/organization/acme/robots/fed", { token: olga, body: {} })).status).toBe(201);
    const robot = { name: "acme+fed", id: (await findUser(db(), "acme+fed"))!.id };
    const federation = [{ issuer: ISSUER, subject: "job-7" }];
    expect(
      (await api("POST", "/organization/acme/robots/fed/federation", { token: olga, body: federation })).status,
    ).toBe(200);
    const oidc = await serveIdentityProvider(ISSUER);
    const exchange = async (subject: string) =>
      request("GET", "/oauth2/federation/robot/token", {
        headers: { Authorization: basic("acme+fed", await oidc(subject)), ...fromIp, "User-Agent": "ci-runner/1" },
      });
    const recorder = recordEvents();
    expect((await exchange("job-7")).status).toBe(200);
    expect((await exchange("job-8")).status).toBe(401);
    expect(await recorder.published()).toEqual([
      event(
        "federated_robot_token_exchange",
        { robot, issuer: ISSUER, subject: "job-7" },
        { actor: { kind: "robot", ...robot } },
      ),
      event(
        "login_failure",
        {
          surface: "federation",
          credential: "oidc",
          username: "acme+fed",
          reason: "invalid",
          userAgent: "ci-runner/1",
        },
        { actor: { kind: "anonymous" } },
      ),
    ]);
  });
});

describe("auto-prune policies", () => {
  const policyOf = (uuid: string, value: number, tagPattern: string | null = null) => ({
    policy: { uuid, method: "number_of_tags", value, tagPattern, tagPatternMatches: true },
  });

  it("a namespace's: created, updated, deleted, each once, in the namespace", async () => {
    const BASE = "/organization/acme/autoprunepolicy/";
    const recorder = recordEvents();
    const created = await api("POST", BASE, {
      token: olga,
      headers: fromIp,
      body: { method: "number_of_tags", value: 5 },
    });
    expect(created.status).toBe(201);
    const uuid = created.json.uuid as string;
    const body = { method: "number_of_tags", value: 9, tagPattern: "^v" };
    expect((await api("PUT", `${BASE}${uuid}`, { token: olga, headers: fromIp, body })).status).toBe(204);
    expect((await api("DELETE", `${BASE}${uuid}`, { token: olga, headers: fromIp })).status).toBe(200);
    expect(await recorder.published()).toEqual([
      event("create_namespace_autoprune_policy", policyOf(uuid, 5)),
      event("update_namespace_autoprune_policy", policyOf(uuid, 9, "^v")),
      event("delete_namespace_autoprune_policy", policyOf(uuid, 9, "^v")),
    ]);
    // Refused: a bad value (400), an outsider (403), a policy gone (404).
    expect((await api("POST", BASE, { token: olga, body: { method: "number_of_tags", value: 0 } })).status).toBe(400);
    expect((await api("POST", BASE, { token: gus, body: { method: "number_of_tags", value: 3 } })).status).toBe(403);
    expect((await api("DELETE", `${BASE}${uuid}`, { token: olga })).status).toBe(404);
    expect(recorder.sent).toHaveLength(3);
  });

  it("a repository's: the repository's own kinds, naming the repository", async () => {
    const made = await api("POST", "/repository", {
      token: olga,
      body: { namespace: "acme", repository: "app", visibility: "private", description: "" },
    });
    expect(made.status).toBe(201);
    const repository = { id: (await findRepository(db(), "acme/app"))!.id, name: "acme/app" };
    const BASE = "/repository/acme/app/autoprunepolicy/";
    const recorder = recordEvents();
    const created = await api("POST", BASE, {
      token: olga,
      headers: fromIp,
      body: { method: "number_of_tags", value: 2 },
    });
    const uuid = created.json.uuid as string;
    const body = { method: "number_of_tags", value: 4 };
    expect((await api("PUT", `${BASE}${uuid}`, { token: gus, body })).status).toBe(403);
    expect((await api("PUT", `${BASE}${uuid}`, { token: olga, headers: fromIp, body })).status).toBe(204);
    expect((await api("DELETE", `${BASE}${uuid}`, { token: gus })).status).toBe(403);
    expect((await api("DELETE", `${BASE}${uuid}`, { token: olga, headers: fromIp })).status).toBe(200);
    expect(await recorder.published()).toEqual([
      event("create_repository_autoprune_policy", policyOf(uuid, 2), { repository }),
      event("update_repository_autoprune_policy", policyOf(uuid, 4), { repository }),
      event("delete_repository_autoprune_policy", policyOf(uuid, 4), { repository }),
    ]);
  });
});
