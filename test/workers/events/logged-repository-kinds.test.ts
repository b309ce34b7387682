/**
 * Each repository log kind of the README's table, produced by the action it names through its
 * real route, then found in the repository's logs (or the namespace's, once the repository is
 * gone) with Quay's metadata for that kind, its performer and client address.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { runAutoprune } from "../../../src/gc/autoprune";
import { env } from "cloudflare:workers";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "../helpers/api";
import { basic, makeUser, pushBlobWith, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { request, sha256 } from "../helpers/registry";
import { entryOf, type LogRecorder, recordLogs } from "../helpers/action-logs";

const IP = "198.51.100.44";
const fromIp = { "CF-Connecting-IP": IP };
const REPO = "/repository/olga/kinds";
const LOGS = `${REPO}/logs`;
let olga: string;
let olgaPassword: string;
let first: string;
let second: string;
let logs: LogRecorder;

const byOlga = { kind: "user", name: "olga", is_robot: false };

beforeAll(async () => {
  const admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "vera");
  olga = await tokenFor("olga");
  const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/kinds:pull,push")).token;
  first = (await pushImageWith(token, "olga/kinds", "first")).headers.get("Docker-Content-Digest")!;
  second = (await pushImageWith(token, "olga/kinds", "second")).headers.get("Docker-Content-Digest")!;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Performs `action` as olga from {@link IP}, delivers what it sent, and answers the entry of `kind`. */
async function logged(kind: string, action: () => Promise<{ status: number }>, path = LOGS) {
  logs = recordLogs();
  const res = await action();
  expect(res.status, kind).toBeLessThan(300);
  await logs.deliver();
  const entry = await entryOf(olga, path, kind);
  expect(entry.ip).toBe(IP);
  expect(entry.performer).toMatchObject(byOlga);
  return entry;
}

const call = (method: string, path: string, body?: unknown) =>
  api(method, path, { token: olga, headers: fromIp, body });

describe("repository kinds", () => {
  it("create_repo", async () => {
    const entry = await logged(
      "create_repo",
      () =>
        call("POST", "/repository", { namespace: "olga", repository: "made", visibility: "private", description: "" }),
      "/repository/olga/made/logs",
    );
    expect(entry.metadata).toEqual({ repo: "made", namespace: "olga" });
  });

  it("push_repo", async () => {
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/kinds:pull,push")).token;
    const entry = await logged("push_repo", () =>
      pushImageWith(token, "olga/kinds", "pushed", { "User-Agent": "skopeo/1.15", ...fromIp }),
    );
    expect(entry.metadata).toEqual({
      repo: "kinds",
      namespace: "olga",
      username: "olga",
      tag: "pushed",
      manifest_digest: expect.stringMatching(/^sha256:/),
      "user-agent": "skopeo/1.15",
    });
  });

  it("create_tag and move_tag", async () => {
    const created = await logged("create_tag", () => call("PUT", `${REPO}/tag/made`, { manifest_digest: first }));
    expect(created.metadata).toEqual({
      username: "olga",
      repo: "kinds",
      namespace: "olga",
      tag: "made",
      manifest_digest: first,
      original_manifest_digest: null,
    });
    const moved = await logged("move_tag", () => call("PUT", `${REPO}/tag/made`, { manifest_digest: second }));
    expect(moved.metadata).toMatchObject({ tag: "made", manifest_digest: second, original_manifest_digest: first });
  });

  it("change_tag_expiration", async () => {
    const at = Math.floor(Date.now() / 1000) + 86_400;
    const entry = await logged("change_tag_expiration", () => call("PUT", `${REPO}/tag/first`, { expiration: at }));
    expect(entry.metadata).toEqual({
      username: "olga",
      repo: "kinds",
      namespace: "olga",
      tag: "first",
      expiration_date: at,
      old_expiration_date: null,
    });
  });

  it("delete_tag, then revert_tag", async () => {
    await fixtureCall(olga, "PUT", `${REPO}/tag/gone`, { manifest_digest: first });
    const deleted = await logged("delete_tag", () => call("DELETE", `${REPO}/tag/gone`));
    expect(deleted.metadata).toEqual({ username: "olga", repo: "kinds", namespace: "olga", tag: "gone" });
    await fixtureCall(olga, "PUT", `${REPO}/tag/back`, { manifest_digest: first });
    await fixtureCall(olga, "PUT", `${REPO}/tag/back`, { manifest_digest: second });
    const reverted = await logged("revert_tag", () =>
      call("POST", `${REPO}/tag/back/restore`, { manifest_digest: first }),
    );
    expect(reverted.metadata).toEqual({ username: "olga", repo: "kinds", tag: "back", manifest_digest: first });
  });

  it("manifest_label_add and manifest_label_delete", async () => {
    const labels = `${REPO}/manifest/${first}/labels`;
    let id = "";
    const added = await logged("manifest_label_add", async () => {
      const res = await call("POST", labels, { key: "team", value: "ci", media_type: null });
      id = res.json.label.id;
      return res;
    });
    expect(added.metadata).toEqual({
      repo: "kinds",
      namespace: "olga",
      id,
      key: "team",
      value: "ci",
      manifest_digest: first,
      media_type: "text/plain",
    });
    const removed = await logged("manifest_label_delete", () => call("DELETE", `${labels}/${id}`));
    expect(removed.metadata).toMatchObject({ id, key: "team", manifest_digest: first });
  });

  it("change_repo_visibility and set_repo_description", async () => {
    const visible = await logged("change_repo_visibility", () =>
      call("POST", `${REPO}/changevisibility`, { visibility: "public" }),
    );
    expect(visible.metadata).toEqual({ repo: "kinds", namespace: "olga", visibility: "public" });
    const described = await logged("set_repo_description", () => call("PUT", REPO, { description: "about" }));
    expect(described.metadata).toEqual({ repo: "kinds", namespace: "olga", description: "about" });
  });

  it("add_repo_permission, change_repo_permission, delete_repo_permission", async () => {
    const path = `${REPO}/permissions/user/vera`;
    const added = await logged("add_repo_permission", () => call("PUT", path, { role: "read" }));
    expect(added.metadata).toEqual({ repo: "kinds", namespace: "olga", username: "vera", role: "read" });
    const changed = await logged("change_repo_permission", () => call("PUT", path, { role: "write" }));
    expect(changed.metadata).toEqual({ repo: "kinds", namespace: "olga", username: "vera", role: "write" });
    const deleted = await logged("delete_repo_permission", () => call("DELETE", path));
    expect(deleted.metadata).toEqual({ repo: "kinds", namespace: "olga", username: "vera" });
  });

  it("change_tag_immutability (Wharf's kind: its event's fields)", async () => {
    await fixtureCall(olga, "PUT", `${REPO}/tag/pinned`, { manifest_digest: first });
    const entry = await logged("change_tag_immutability", () => call("PUT", `${REPO}/tag/pinned`, { immutable: true }));
    expect(entry.metadata).toEqual({
      username: "olga",
      repo: "kinds",
      namespace: "olga",
      tag: "pinned",
      digest: first,
      immutable: true,
    });
  });

  it("create_immutability_policy and tags_made_immutable_by_policy, update_…, delete_…", async () => {
    const base = `${REPO}/immutabilitypolicy/`;
    let uuid = "";
    const created = await logged("create_immutability_policy", async () => {
      const res = await call("POST", base, { tagPattern: "^first$" });
      uuid = res.json.uuid;
      return res;
    });
    expect(created.metadata).toMatchObject({ repo: "kinds", policy: { uuid, tag_pattern: "^first$" } });
    const marked = await entryOf(olga, LOGS, "tags_made_immutable_by_policy");
    expect(marked.metadata).toMatchObject({ repo: "kinds", count: 1, tags: ["first"] });
    const updated = await logged("update_immutability_policy", () =>
      call("PUT", `${base}${uuid}`, { tagPattern: "^none$" }),
    );
    expect(updated.metadata).toMatchObject({ policy: { uuid, tag_pattern: "^none$" } });
    const deleted = await logged("delete_immutability_policy", () => call("DELETE", `${base}${uuid}`));
    expect(deleted.metadata).toMatchObject({ policy: { uuid } });
  });

  it("create_, update_, delete_repository_autoprune_policy", async () => {
    const base = `${REPO}/autoprunepolicy/`;
    let uuid = "";
    const created = await logged("create_repository_autoprune_policy", async () => {
      const res = await call("POST", base, { method: "number_of_tags", value: 50 });
      uuid = res.json.uuid;
      return res;
    });
    expect(created.metadata).toMatchObject({ repo: "kinds", policy: { uuid, method: "number_of_tags", value: 50 } });
    const updated = await logged("update_repository_autoprune_policy", () =>
      call("PUT", `${base}${uuid}`, { method: "number_of_tags", value: 60 }),
    );
    expect(updated.metadata).toMatchObject({ policy: { uuid, value: 60 } });
    const deleted = await logged("delete_repository_autoprune_policy", () => call("DELETE", `${base}${uuid}`));
    expect(deleted.metadata).toMatchObject({ policy: { uuid } });
  });

  it("change_repo_state", async () => {
    await createPrivateRepository(olga, "olga", "frozen");
    const entry = await logged(
      "change_repo_state",
      () => call("PUT", "/repository/olga/frozen/changestate", { state: "READ_ONLY" }),
      "/repository/olga/frozen/logs",
    );
    expect(entry.metadata).toEqual({ repo: "frozen", namespace: "olga", state_changed: "READ_ONLY" });
  });

  it("repo_mirror_config_changed", async () => {
    await createPrivateRepository(olga, "olga", "mirrored");
    await fixtureCall(olga, "PUT", "/user/robots/kindsbot", {});
    const entry = await logged(
      "repo_mirror_config_changed",
      () =>
        call("POST", "/repository/olga/mirrored/mirror", {
          external_reference: "registry.example.com/library/alpine",
          sync_interval: 60,
          sync_start_date: "2026-01-01T00:00:00Z",
          robot_username: "olga+kindsbot",
          root_rule: { rule_kind: "tag_glob_csv", rule_value: ["*"] },
        }),
      "/repository/olga/mirrored/logs",
    );
    // Quay's track_and_log("repo_mirror_config_changed", wrap_repository(repo), changed=…, to=…).
    expect(entry.metadata).toEqual({
      repo: "mirrored",
      namespace: "olga",
      username: "olga",
      changed: "external_reference",
      to: "registry.example.com/library/alpine",
    });
  });

  it("add_repo_notification, reset_repo_notification, delete_repo_notification", async () => {
    const body = {
      event: "repo_push",
      method: "webhook",
      config: { url: "https://hooks.example.com/k" },
      eventConfig: {},
    };
    let uuid = "";
    const added = await logged("add_repo_notification", async () => {
      const res = await call("POST", `${REPO}/notification/`, body);
      uuid = res.json.uuid;
      return res;
    });
    const expected = () => ({
      repo: "kinds",
      namespace: "olga",
      notification_id: uuid,
      event: "repo_push",
      method: "webhook",
    });
    expect(added.metadata).toEqual(expected());
    const reset = await logged("reset_repo_notification", () => call("POST", `${REPO}/notification/${uuid}`));
    expect(reset.metadata).toEqual(expected());
    const deleted = await logged("delete_repo_notification", () => call("DELETE", `${REPO}/notification/${uuid}`));
    expect(deleted.metadata).toEqual(expected());
  });

  it("delete_manifest and delete_blob, through /v2 (Wharf's kinds)", async () => {
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/kinds:pull,push,delete")).token;
    const image = await pushImageWith(token, "olga/kinds", "dropped");
    const digest = image.headers.get("Docker-Content-Digest")!;
    const entry = await logged("delete_manifest", () =>
      request("DELETE", `/v2/olga/kinds/manifests/${digest}`, { token, headers: fromIp }),
    );
    expect(entry.metadata).toEqual({ username: "olga", repo: "kinds", namespace: "olga", digest, tags: ["dropped"] });
    const blob = await sha256("a blob to drop");
    expect((await pushBlobWith(token, "olga/kinds", "a blob to drop")).status).toBe(201);
    const dropped = await logged("delete_blob", () =>
      request("DELETE", `/v2/olga/kinds/blobs/${blob}`, { token, headers: fromIp }),
    );
    expect(dropped.metadata).toEqual({ username: "olga", repo: "kinds", namespace: "olga", digest: blob });
  });

  it("autoprune_tag_delete, by Wharf's auto-prune (no performer)", async () => {
    await createPrivateRepository(olga, "olga", "pruned");
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/pruned:pull,push")).token;
    for (const tag of ["a", "b"]) expect((await pushImageWith(token, "olga/pruned", tag)).status).toBe(201);
    await fixtureCall(olga, "POST", "/repository/olga/pruned/autoprunepolicy/", { method: "number_of_tags", value: 1 });
    logs = recordLogs();
    for (let more = true, calls = 0; more && calls < 20; calls++) more = (await runAutoprune(env, Date.now())).more;
    await logs.deliver();
    const entry = await entryOf(olga, "/repository/olga/pruned/logs", "autoprune_tag_delete");
    expect(entry.metadata).toEqual({ repo: "pruned", namespace: "olga", tag: "a", performer: "autoprune worker" });
    expect(entry).not.toHaveProperty("performer");
    expect(entry.ip).toBeNull();
  });

  it("delete_repo, found in the namespace's logs once the repository is gone", async () => {
    await createPrivateRepository(olga, "olga", "doomed");
    const entry = await logged("delete_repo", () => call("DELETE", "/repository/olga/doomed"), "/user/logs");
    expect(entry.metadata).toEqual({ repo: "doomed", namespace: "olga" });
  });
});
