import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { issueToken } from "../../../src/identity/tokens";
import { findUser } from "../../../src/identity/users";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { pushBlob, registryToken, request } from "../helpers/registry";

let admin: string;
let frank: string;
let frankPassword: string;

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

beforeAll(async () => {
  admin = await initializeAdmin();
  const made = await api("POST", "/superuser/users", { token: admin, body: { username: "frank", email: "frank@example.com" } });
  frankPassword = made.json.password;
  const user = await findUser(database(env.DB), "frank");
  frank = await issueToken(database(env.DB), { kind: "oauth", userId: user!.id, scopes: ["user:admin", "user:read"] });
});

describe("organizations", () => {
  it("creates one whose creator lands in the owners team with the admin role", async () => {
    const res = await api("POST", "/organization/", { token: frank, body: { name: "acme", email: "ops@acme.example" } });
    expect(res.status).toBe(201);
    expect(res.json).toBe("Created");
    const view = await api("GET", "/organization/acme", { token: frank });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ name: "acme", email: "ops@acme.example", is_admin: true, is_member: true, ordered_teams: ["owners"] });
    expect(view.json.teams.owners).toMatchObject({ name: "owners", role: "admin", member_count: 1 });
    const outsider = await api("GET", "/organization/acme", { token: admin });
    expect(outsider.json).toMatchObject({ name: "acme", is_admin: false, is_member: false });
    expect(outsider.json).not.toHaveProperty("teams");
    expect(outsider.json).not.toHaveProperty("email");
  });

  it("refuses a name a user or organization already has, a bad name, and a token without user:admin", async () => {
    expectQuayError(await api("POST", "/organization/", { token: frank, body: { name: "admin" } }), 400, "invalid_request", "The username already exists");
    expectQuayError(await api("POST", "/organization/", { token: frank, body: { name: "acme" } }), 400, "invalid_request", "The username already exists");
    expectQuayError(await api("POST", "/organization/", { token: frank, body: { name: "A!" } }), 400, "invalid_request");
    const user = await findUser(database(env.DB), "frank");
    const reader = await issueToken(database(env.DB), { kind: "oauth", userId: user!.id, scopes: ["user:read"] });
    expectQuayError(await api("POST", "/organization/", { token: reader, body: { name: "acme2" } }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/nope", { token: frank }), 404, "not_found");
  });

  it("gives its owners every action on its repositories, and nobody else any", async () => {
    await pushBlob("acme/app", "acme's bytes");
    const scope = "?scope=repository:acme/app:pull,push,delete&scope=registry:catalog:*";
    const owner = await request("GET", `/v2/auth${scope}`, { token: null, headers: { Authorization: basic("frank", frankPassword) } });
    const claims = decodeJwt(((await owner.json()) as { token: string }).token);
    expect(claims.access).toEqual([
      { type: "repository", name: "acme/app", actions: ["pull", "push", "delete"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    const other = await request("GET", `/v2/auth${scope}`, { token: null, headers: { Authorization: basic("admin", "admin-password-1") } });
    expect((decodeJwt(((await other.json()) as { token: string }).token).access as { actions: string[] }[])[0]!.actions).toEqual([]);

    const catalog = await request("GET", "/v2/_catalog", {
      token: await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }], { kind: "user", name: "frank" }),
    });
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain("acme/app");
    const notOwner = await request("GET", "/v2/_catalog", {
      token: await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }], { kind: "user", name: "admin" }),
    });
    expect(((await notOwner.json()) as { repositories: string[] }).repositories).not.toContain("acme/app");
  });

  it("keeps its only admin from being deleted", async () => {
    const res = await api("DELETE", "/superuser/users/frank", { token: admin });
    expectQuayError(res, 400, "invalid_request", "Cannot delete frank: the only admin of organization acme");
  });
});
