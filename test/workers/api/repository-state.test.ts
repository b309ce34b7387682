/**
 * Repository state (Quay `endpoints/api/repository.py` `changeRepoState`, and its
 * `disallow_for_non_normal_repositories`): READ_ONLY refuses every write on both surfaces, at the
 * write's entry and again under the repository's lock where it commits; pulls and reads go on.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { repositoryObject } from "../../../src/registry/repository-object";
import type { Digest } from "../../../src/registry/reference";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents, testOrigin } from "../helpers/events";
import { errorCode, registryToken, request } from "../helpers/registry";

let admin: string;
let olga: string;
let wanda: string;
let gus: string;
const passwords: Record<string, string> = {};

const fullToken = (name: string) =>
  registryToken([{ type: "repository", name, actions: ["pull", "push", "delete"] }], "olga");

/** Pushes a one-layer image as olga; returns its digest. */
async function push(name: string, tag: string): Promise<string> {
  const res = await pushImageWith(await fullToken(name), name, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}

const changeState = (name: string, state: unknown, token = olga) =>
  api("PUT", `/repository/${name}/changestate`, { token, body: { state } });

beforeAll(async () => {
  admin = await initializeAdmin();
  passwords.olga = await makeUser(admin, "olga");
  await makeUser(admin, "wanda");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  wanda = await tokenFor("wanda");
  gus = await tokenFor("gus");
});

describe("PUT /api/v1/repository/{repository}/changestate", () => {
  it("makes a repository READ_ONLY and NORMAL again, with Quay's JSON and change_repo_state", async () => {
    await push("olga/frozen", "v1");
    const events = recordEvents();
    const res = await changeState("olga/frozen", "READ_ONLY");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true });
    const [event] = await events.published("change_repo_state");
    expect(event).toMatchObject({ repository: { name: "olga/frozen" }, data: { state: "READ_ONLY" } });

    // Quay's repository JSON carries `state`; nobody can write (test_get_repo_state_can_write).
    const view = await api("GET", "/repository/olga/frozen", { token: olga });
    expect(view.json).toMatchObject({ state: "READ_ONLY", can_write: false, can_admin: true });
    const listed = await api("GET", "/repository?namespace=olga", { token: olga });
    expect(listed.json.repositories.find((r: any) => r.name === "frozen").state).toBe("READ_ONLY");

    expect((await changeState("olga/frozen", "NORMAL")).json).toEqual({ success: true });
    const normal = await api("GET", "/repository/olga/frozen", { token: olga });
    expect(normal.json).toMatchObject({ state: "NORMAL", can_write: true });
    await push("olga/frozen", "v2");
  });

  // MIRROR is accepted with FEATURE_REPO_MIRROR on and refused with Quay's bare detail when it is
  // off: test/workers/api/mirror.test.ts.
  it("refuses unknown states", async () => {
    await push("olga/states", "v1");
    expectQuayError(await changeState("olga/states", "FROZEN"), 400, "invalid_request");
    expectQuayError(
      await api("PUT", "/repository/olga/states/changestate", { token: olga, body: {} }),
      400,
      "invalid_request",
    );
    expect((await findRepository(db(), "olga/states"))!.state).toBe("NORMAL");
  });

  it("is for the repository's admins with repo:admin: 401, 403 (existing or not), then 404", async () => {
    await push("olga/guarded", "v1");
    await api("PUT", "/repository/olga/guarded/permissions/user/wanda", { token: olga, body: { role: "write" } });
    expectQuayError(
      await api("PUT", "/repository/olga/guarded/changestate", { body: { state: "READ_ONLY" } }),
      401,
      "invalid_token",
    );
    expectQuayError(await changeState("olga/guarded", "READ_ONLY", wanda), 403, "insufficient_scope");
    expectQuayError(await changeState("olga/guarded", "READ_ONLY", gus), 403, "insufficient_scope");
    expectQuayError(await changeState("olga/missing", "READ_ONLY", gus), 403, "insufficient_scope");
    const readOnlyScope = await tokenFor("olga", ["repo:read", "repo:write"]);
    expectQuayError(await changeState("olga/guarded", "READ_ONLY", readOnlyScope), 403, "insufficient_scope");
    expectQuayError(await changeState("olga/missing", "READ_ONLY"), 404, "not_found");
    expect((await findRepository(db(), "olga/guarded"))!.state).toBe("NORMAL");
  });
});

describe("a state change racing pushes", () => {
  it("lets each push commit before the change or refuses it: none lands after", async () => {
    await push("olga/racing", "base");
    const token = await fullToken("olga/racing");
    const pushes = Array.from({ length: 6 }, (_, i) => pushImageWith(token, "olga/racing", `t${i}`));
    const change = changeState("olga/racing", "READ_ONLY");
    const statuses = (await Promise.all(pushes)).map((res) => res.status);
    expect((await change).status).toBe(200);
    expect(statuses.every((status) => status === 201 || status === 403)).toBe(true);
    const alive = await api("GET", "/repository/olga/racing/tag/?onlyActiveTags=true", { token: olga });
    const pushedTags = alive.json.tags.map((t: any) => t.name).filter((name: string) => name !== "base");
    expect(pushedTags).toHaveLength(statuses.filter((status) => status === 201).length);
    // Once the change answered, every write is refused.
    expect((await pushImageWith(token, "olga/racing", "late")).status).toBe(403);
  });
});

describe("a READ_ONLY repository", () => {
  let digest: string;
  const NAME = "olga/locked";

  beforeAll(async () => {
    digest = await push(NAME, "v1");
    const label = await api("POST", `/repository/${NAME}/manifest/${digest}/labels`, {
      token: olga,
      body: { key: "team", value: "blue", media_type: "text/plain" },
    });
    expect(label.status).toBe(201);
    expect((await changeState(NAME, "READ_ONLY")).status).toBe(200);
  });

  it("still serves pulls", async () => {
    const token = (await v2Token(basic("olga", passwords.olga!), `repository:${NAME}:pull`)).token;
    const res = await request("GET", `/v2/${NAME}/manifests/v1`, {
      token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(res.status).toBe(200);
  });

  it("gets no push or delete from /v2/auth (Quay's v2auth), even for its owner", async () => {
    const { actions } = await v2Token(basic("olga", passwords.olga!), `repository:${NAME}:pull,push,delete`);
    expect(actions).toEqual(["pull"]);
  });

  it("refuses /v2 writes of a token granted before the change: DENIED with Quay's words", async () => {
    const token = await fullToken(NAME);
    const upload = await request("POST", `/v2/${NAME}/blobs/uploads/`, { token });
    expect(upload.status).toBe(403);
    expect(await upload.json()).toMatchObject({
      errors: [{ code: "DENIED", message: "Repository is in read only or mirror mode: READ_ONLY" }],
    });
    const pushed = await pushImageWith(token, NAME, "v2");
    expect(pushed.status).toBe(403);
    const deleted = await request("DELETE", `/v2/${NAME}/manifests/${digest}`, { token });
    expect(deleted.status).toBe(403);
    expect(await errorCode(deleted)).toBe("DENIED");
    const tags = await api("GET", `/repository/${NAME}/tag/?onlyActiveTags=true`, { token: olga });
    expect(tags.json.tags.map((t: any) => t.name)).toEqual(["v1"]);
  });

  it("tells its state only to whoever may still write it: a token's holder who lost access learns nothing", async () => {
    // A token claiming push (granted while gus could push, say), but gus holds nothing now.
    const token = await registryToken([{ type: "repository", name: NAME, actions: ["pull", "push"] }], "gus");
    const upload = await request("POST", `/v2/${NAME}/blobs/uploads/`, { token });
    expect(upload.status).toBe(403);
    const body = JSON.stringify(await upload.json());
    expect(body).not.toMatch(/read only|READ_ONLY/);
  });

  it("refuses API writes with Quay's 503 (tags, restore, labels)", async () => {
    const refused = [
      await api("PUT", `/repository/${NAME}/tag/v2`, { token: olga, body: { manifest_digest: digest } }),
      await api("DELETE", `/repository/${NAME}/tag/v1`, { token: olga }),
      await api("POST", `/repository/${NAME}/tag/v1/restore`, { token: olga, body: { manifest_digest: digest } }),
      await api("POST", `/repository/${NAME}/manifest/${digest}/labels`, {
        token: olga,
        body: { key: "more", value: "x", media_type: "text/plain" },
      }),
    ];
    const labels = await api("GET", `/repository/${NAME}/manifest/${digest}/labels`, { token: olga });
    const apiLabel = labels.json.labels.find((l: any) => l.key === "team");
    refused.push(await api("DELETE", `/repository/${NAME}/manifest/${digest}/labels/${apiLabel.id}`, { token: olga }));
    for (const res of refused) {
      expectQuayError(res, 503, "service_unavailable", "Repository is in read only or mirror mode: READ_ONLY");
      expect(res.json.error).toBe("Repository is in read only or mirror mode: READ_ONLY");
    }
    const after = await api("GET", `/repository/${NAME}/manifest/${digest}/labels`, { token: olga });
    expect(after.json.labels.map((l: any) => l.key).sort()).toEqual(["team"]);
  });

  it("is refused again where writes commit, under the repository's lock, whatever the entry checked", async () => {
    const repository = (await findRepository(db(), NAME))!;
    const ref = { id: repository.id, name: repository.name };
    const stub = repositoryObject(env, NAME);
    for (const outcome of [
      await stub.deleteTag(ref, "v1", testOrigin),
      await stub.putTag(ref, "v3", { manifestDigest: digest as Digest }, testOrigin),
      await stub.deleteManifest(ref, digest as Digest, testOrigin),
    ]) {
      expect(outcome).toMatchObject({ ok: false, error: { kind: "read_only" } });
    }
    // Auto-prune leaves it alone, as Quay's pruner skips read-only repositories.
    expect(await stub.endTags(ref, ["v1"], testOrigin)).toEqual([]);
  });
});
