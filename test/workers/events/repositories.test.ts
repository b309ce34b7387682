/**
 * Events of a repository's creation and settings (docs/events.md): `create_repo` from the API and
 * from a first push, `change_repo_visibility`, `set_repo_description`; each action through its
 * real route publishes exactly one event with the documented fields, actor and client address,
 * and a refused action publishes none.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../../src/config";
import { collectEmptyRepositories } from "../../../src/gc/empty-repositories";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { api, initializeAdmin } from "../helpers/api";
import { basic, db, makeUser, pushBlobWith, tokenFor, v2Token } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import { env } from "cloudflare:workers";
import { request } from "../helpers/registry";

const IP = "203.0.113.7";
let olga: string;
let olgaId: number;
const olgaPassword = "olga-password-1";
let gus: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  await api("PUT", "/superuser/users/olga", { token: admin, body: { password: olgaPassword } });
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  olgaId = (await findUser(db(), "olga"))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const fromIp = { "CF-Connecting-IP": IP };
/** Olga's OAuth token as an actor. */
const olgaToken = () => ({ kind: "token", name: "olga", id: olgaId, token: "oauth" });

describe("create_repo", () => {
  it("comes from POST /api/v1/repository, with the repository's id, the token's user and the client address", async () => {
    const recorder = recordEvents();
    const res = await api("POST", "/repository", {
      token: olga,
      headers: fromIp,
      body: { repository: "made", visibility: "public", description: "", repo_kind: "application" },
    });
    expect(res.status).toBe(201);
    const repository = (await findRepository(db(), "olga/made"))!;
    const events = await recorder.published();
    expect(events).toEqual([
      {
        id: expect.any(String),
        kind: "create_repo",
        at: expect.any(Number),
        namespace: "olga",
        repository: { id: repository.id, name: "olga/made" },
        actor: olgaToken(),
        ip: IP,
        data: { visibility: "public", kind: "application", byPush: false },
      },
    ]);
  });

  it("is not emitted when the creation is refused", async () => {
    const recorder = recordEvents();
    const again = await api("POST", "/repository", {
      token: olga,
      body: { repository: "made", visibility: "private", description: "" },
    });
    expect(again.status).toBe(400);
    const forbidden = await api("POST", "/repository", {
      token: gus,
      body: { namespace: "olga", repository: "theirs", visibility: "private", description: "" },
    });
    expect(forbidden.status).toBe(403);
    expect(await recorder.published()).toEqual([]);
  });

  it("comes from the first push that creates the repository, once, naming the pushing user", async () => {
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/pushed:pull,push")).token;
    const recorder = recordEvents();
    const first = await request("POST", "/v2/olga/pushed/blobs/uploads/", {
      token,
      headers: { "CF-Connecting-IP": "2001:db8::1" },
    });
    expect(first.status).toBe(202);
    expect((await pushBlobWith(token, "olga/pushed", "a layer")).status).toBe(201);
    const repository = (await findRepository(db(), "olga/pushed"))!;
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "create_repo",
        namespace: "olga",
        repository: { id: repository.id, name: "olga/pushed" },
        actor: { kind: "user", name: "olga", id: olgaId },
        ip: "2001:db8::1",
        data: { visibility: "private", kind: "image", byPush: true },
      }),
    ]);
  });
});

describe("repository settings", () => {
  it("change_repo_visibility comes from POST …/changevisibility", async () => {
    const recorder = recordEvents();
    const res = await api("POST", "/repository/olga/made/changevisibility", {
      token: olga,
      headers: fromIp,
      body: { visibility: "private" },
    });
    expect(res.status).toBe(200);
    const repository = (await findRepository(db(), "olga/made"))!;
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "change_repo_visibility",
        namespace: "olga",
        repository: { id: repository.id, name: "olga/made" },
        actor: olgaToken(),
        ip: IP,
        data: { visibility: "private" },
      }),
    ]);
  });

  it("set_repo_description comes from PUT /api/v1/repository/{repository}, a browser session acting as its user", async () => {
    const signin = await request("POST", "/api/v1/signin", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "olga", password: olgaPassword }),
    });
    const cookie = signin.headers.get("Set-Cookie")!.split(";")[0]!;
    const csrf = (await (await request("GET", "/csrf_token", { headers: { Cookie: cookie } })).json()) as {
      csrf_token: string;
    };
    const recorder = recordEvents();
    const res = await api("PUT", "/repository/olga/made", {
      headers: { Cookie: cookie, "X-CSRF-Token": csrf.csrf_token },
      body: { description: "Described." },
    });
    expect(res.status).toBe(200);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "set_repo_description",
        actor: { kind: "user", name: "olga", id: olgaId },
        ip: null,
        data: { description: "Described." },
      }),
    ]);
  });

  it("a refused change emits nothing", async () => {
    const recorder = recordEvents();
    const visibility = await api("POST", "/repository/olga/made/changevisibility", {
      token: gus,
      body: { visibility: "public" },
    });
    expect(visibility.status).toBe(403);
    const description = await api("PUT", "/repository/olga/made", { token: gus, body: { description: "mine" } });
    expect(description.status).toBe(403);
    const invalid = await api("POST", "/repository/olga/made/changevisibility", {
      token: olga,
      body: { visibility: "secret" },
    });
    expect(invalid.status).toBe(400);
    expect(await recorder.published()).toEqual([]);
  });
});

describe("delete_repo", () => {
  it("comes from DELETE /api/v1/repository/{repository}, naming the repository as it was", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "doomed", visibility: "private", description: "" },
    });
    const repository = (await findRepository(db(), "olga/doomed"))!;
    const recorder = recordEvents();
    const refused = await api("DELETE", "/repository/olga/doomed", { token: gus });
    expect(refused.status).toBe(403);
    expect(await recorder.published()).toEqual([]);
    const res = await api("DELETE", "/repository/olga/doomed", { token: olga, headers: fromIp });
    expect(res.status).toBe(204);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "delete_repo",
        namespace: "olga",
        repository: { id: repository.id, name: "olga/doomed" },
        actor: olgaToken(),
        ip: IP,
        data: {},
      }),
    ]);
    const again = await api("DELETE", "/repository/olga/doomed", { token: olga });
    expect(again.status).toBe(404);
    expect(await recorder.published("delete_repo")).toHaveLength(1);
  });

  it("comes from garbage collection of a repository an abandoned push left, as the system's gc", async () => {
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/abandoned:pull,push")).token;
    expect((await request("POST", "/v2/olga/abandoned/blobs/uploads/", { token })).status).toBe(202);
    const repository = (await findRepository(db(), "olga/abandoned"))!;
    const recorder = recordEvents();
    const later = Date.now() + readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000 + 3_600_000;
    // olga/pushed, whose push above never sent a manifest, goes too: one event each.
    expect(await collectEmptyRepositories(env, db(), later)).toEqual({ deleted: 2 });
    const deleted = await recorder.published("delete_repo");
    expect(deleted.map((e) => e.repository?.name).sort()).toEqual(["olga/abandoned", "olga/pushed"]);
    expect(deleted.find((e) => e.repository?.name === "olga/abandoned")).toEqual(
      expect.objectContaining({
        repository: { id: repository.id, name: "olga/abandoned" },
        actor: { kind: "system", name: "gc" },
        ip: null,
      }),
    );
  });
});
