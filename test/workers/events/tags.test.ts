/**
 * Tag events (docs/events.md): `create_tag`, `move_tag`, `change_tag_expiration`,
 * `change_tag_immutability`, `delete_tag` (API and /v2, one write for both), `revert_tag`,
 * `permanently_delete_tag`. Each action through its real route publishes exactly one event of its
 * kind with the documented fields, actor and client address; a refused action publishes none.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import { findRepository } from "../../../src/registry/repositories";
import { api, initializeAdmin } from "../helpers/api";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import { BASE, errorCode, request } from "../helpers/registry";

const IP = "198.51.100.23";
const fromIp = { "CF-Connecting-IP": IP };
let olga: string;
let olgaId: number;
let olgaPassword: string;
let gus: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  olgaId = (await findUser(db(), "olga"))!.id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

const v2As = async (name: string) =>
  (await v2Token(basic("olga", olgaPassword), `repository:${name}:pull,push,delete`)).token;

/** Pushes an image tagged `tag` to `name` as olga; returns its digest. */
async function push(name: string, tag: string): Promise<string> {
  const res = await pushImageWith(await v2As(name), name, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}

async function place(name: string) {
  const repository = (await findRepository(db(), name))!;
  return { namespace: "olga", repository: { id: repository.id, name } };
}

const byToken = () => ({ kind: "token", name: "olga", id: olgaId, token: "oauth" });

describe("tag events from PUT /api/v1/repository/{repository}/tag/{tag}", () => {
  it("create_tag, then move_tag naming the previous digest; pointing it where it points emits nothing", async () => {
    const first = await push("olga/app", "first");
    const second = await push("olga/app", "second");
    const recorder = recordEvents();
    const created = await api("PUT", "/repository/olga/app/tag/made", {
      token: olga,
      headers: fromIp,
      body: { manifest_digest: first },
    });
    expect(created.status).toBe(201);
    expect(await recorder.published()).toEqual([
      {
        id: expect.any(String),
        kind: "create_tag",
        at: expect.any(Number),
        ...(await place("olga/app")),
        actor: byToken(),
        ip: IP,
        data: { tag: "made", digest: first },
      },
    ]);
    await api("PUT", "/repository/olga/app/tag/made", {
      token: olga,
      headers: fromIp,
      body: { manifest_digest: second },
    });
    await api("PUT", "/repository/olga/app/tag/made", { token: olga, body: { manifest_digest: second } });
    expect((await recorder.published()).slice(1)).toEqual([
      expect.objectContaining({
        kind: "move_tag",
        actor: byToken(),
        ip: IP,
        data: { tag: "made", digest: second, previousDigest: first },
      }),
    ]);
  });

  it("change_tag_expiration with the new and previous expiration, set and cleared", async () => {
    const digest = await push("olga/app", "expiring");
    const recorder = recordEvents();
    const at = Math.floor(Date.now() / 1000) + 3600;
    const set = await api("PUT", "/repository/olga/app/tag/expiring", { token: olga, body: { expiration: at } });
    expect(set.status).toBe(201);
    const cleared = await api("PUT", "/repository/olga/app/tag/expiring", { token: olga, body: { expiration: null } });
    expect(cleared.status).toBe(201);
    const events = await recorder.published();
    expect(events.map((e) => [e.kind, e.data])).toEqual([
      ["change_tag_expiration", { tag: "expiring", digest, expiration: at * 1000, previousExpiration: null }],
      ["change_tag_expiration", { tag: "expiring", digest, expiration: null, previousExpiration: at * 1000 }],
    ]);
    const refused = await api("PUT", "/repository/olga/app/tag/expiring", { token: olga, body: { expiration: 1 } });
    expect(refused.status).toBe(400);
    expect(await recorder.published()).toHaveLength(2);
  });
});

describe("immutable tags", () => {
  it("change_tag_immutability; every refused change to the tag emits nothing, and each surface keeps its answer", async () => {
    const frozen = await push("olga/frozen", "v1");
    const other = await push("olga/frozen", "other");
    const recorder = recordEvents();
    const marked = await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { immutable: true } });
    expect(marked.status).toBe(201);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "change_tag_immutability",
        data: { tag: "v1", digest: frozen, immutable: true },
      }),
    ]);

    const moved = await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { manifest_digest: other } });
    expect([moved.status, moved.json.error_message]).toEqual([
      400,
      "Tag v1 is immutable: an administrator must make it mutable before it can be changed",
    ]);
    expect((await api("DELETE", "/repository/olga/frozen/tag/v1", { token: olga })).status).toBe(400);
    const restore = { manifest_digest: other };
    expect((await api("POST", "/repository/olga/frozen/tag/v1/restore", { token: olga, body: restore })).status).toBe(
      400,
    );
    const token = await v2As("olga/frozen");
    const deleted = await request("DELETE", "/v2/olga/frozen/manifests/v1", { token });
    expect([deleted.status, await deleted.json()]).toEqual([
      403,
      {
        errors: [
          {
            code: "DENIED",
            message: "requested access to the resource is denied",
            detail: { tag: "v1", reason: "the tag is immutable" },
          },
        ],
      },
    ]);
    const overwritten = await pushImageWith(token, "olga/frozen", "v1");
    expect([overwritten.status, await errorCode(overwritten)]).toEqual([403, "DENIED"]);
    const byDigest = await request("DELETE", `/v2/olga/frozen/manifests/${frozen}`, { token });
    expect([byDigest.status, await errorCode(byDigest)]).toEqual([403, "DENIED"]);
    expect(await recorder.published()).toHaveLength(1);
  });
});

describe("delete_tag, one write behind both surfaces", () => {
  it("comes from DELETE /api/v1/repository/{repository}/tag/{tag}", async () => {
    const digest = await push("olga/app", "gone");
    const recorder = recordEvents();
    const res = await api("DELETE", "/repository/olga/app/tag/gone", { token: olga, headers: fromIp });
    expect(res.status).toBe(204);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "delete_tag",
        ...(await place("olga/app")),
        actor: byToken(),
        ip: IP,
        data: { tag: "gone", digest },
      }),
    ]);
    const again = await api("DELETE", "/repository/olga/app/tag/gone", { token: olga });
    expect(again.status).toBe(404);
    expect((await api("DELETE", "/repository/olga/app/tag/first", { token: gus })).status).toBe(403);
    expect(await recorder.published()).toHaveLength(1);
  });

  it("comes from DELETE /v2/<name>/manifests/<tag>, naming the robot that asked", async () => {
    const digest = await push("olga/app", "robotic");
    const robot = await api("PUT", "/user/robots/deployer", { token: olga });
    expect(robot.status).toBe(201);
    const grant = { role: "write" };
    await api("PUT", "/repository/olga/app/permissions/user/olga+deployer", { token: olga, body: grant });
    const token = (await v2Token(basic("olga+deployer", robot.json.token), "repository:olga/app:pull,push,delete"))
      .token;
    const robotId = (await findUser(db(), "olga+deployer"))!.id;
    const recorder = recordEvents();
    const res = await request("DELETE", "/v2/olga/app/manifests/robotic", { token, headers: fromIp });
    expect(res.status).toBe(202);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "delete_tag",
        ...(await place("olga/app")),
        actor: { kind: "robot", name: "olga+deployer", id: robotId },
        ip: IP,
        data: { tag: "robotic", digest },
      }),
    ]);
    const missing = await request("DELETE", "/v2/olga/app/manifests/robotic", { token });
    expect([missing.status, await errorCode(missing)]).toEqual([404, "MANIFEST_UNKNOWN"]);
    expect(await recorder.published()).toHaveLength(1);
  });
});

describe("the time machine", () => {
  it("revert_tag comes from POST …/tag/{tag}/restore, naming what the tag pointed at", async () => {
    const old = await push("olga/history", "latest");
    const current = await push("olga/history", "latest");
    const recorder = recordEvents();
    const body = { manifest_digest: old };
    const res = await api("POST", "/repository/olga/history/tag/latest/restore", {
      token: olga,
      headers: fromIp,
      body,
    });
    expect(res.status).toBe(200);
    const again = await api("POST", "/repository/olga/history/tag/latest/restore", { token: olga, body });
    expect(again.status).toBe(200);
    const unknown = `sha256:${"0".repeat(64)}`;
    const missing = { manifest_digest: unknown };
    expect(
      (await api("POST", "/repository/olga/history/tag/latest/restore", { token: olga, body: missing })).status,
    ).toBe(404);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "revert_tag",
        ...(await place("olga/history")),
        actor: byToken(),
        ip: IP,
        data: { tag: "latest", digest: old, previousDigest: current },
      }),
    ]);
  });

  it("permanently_delete_tag comes from POST …/tag/{tag}/expire where PERMANENTLY_DELETE_TAGS allows it", async () => {
    const old = await push("olga/history", "purged");
    await push("olga/history", "purged");
    const expire = async (body: unknown) => {
      const ctx = createExecutionContext();
      const res = await createApp().fetch(
        new Request(`${BASE}/api/v1/repository/olga/history/tag/purged/expire`, {
          method: "POST",
          headers: { Authorization: `Bearer ${olga}`, "Content-Type": "application/json", ...fromIp },
          body: JSON.stringify(body),
        }),
        { ...env, PERMANENTLY_DELETE_TAGS: "true" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    const recorder = recordEvents();
    expect((await expire({ manifest_digest: old })).status).toBe(204);
    expect((await expire({ manifest_digest: old })).status).toBe(404);
    expect(await recorder.published()).toEqual([
      expect.objectContaining({
        kind: "permanently_delete_tag",
        ...(await place("olga/history")),
        actor: byToken(),
        ip: IP,
        data: { tag: "purged", digest: old, rows: 1 },
      }),
    ]);
  });
});
