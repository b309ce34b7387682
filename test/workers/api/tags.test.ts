/**
 * The tag API (Quay `endpoints/api/tag.py`): history listing with Quay's paging and filters,
 * create/move/expiration/immutability through PUT, delete, restore from the time machine,
 * permanent deletion, and what each refuses. The /v2 side of immutable tags is here too.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { repositories, tags } from "../../../src/db/schema";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { basic, db, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { advanceClock } from "../helpers/clock";
import { BASE, errorCode, request } from "../helpers/registry";

let admin: string;
let olga: string;
let gus: string;
let wanda: string;
const passwords: Record<string, string> = {};

/** Pushes a one-layer image as the namespace's owner; returns its digest. */
const push = async (name: string, tag: string): Promise<string> => {
  const owner = name.split("/")[0]!;
  const token = (await v2Token(basic(owner, passwords[owner]!), `repository:${name}:pull,push,delete`)).token;
  const res = await pushImageWith(token, name, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
};
const v2As = async (name: string) =>
  (await v2Token(basic(name.split("/")[0]!, passwords[name.split("/")[0]!]!), `repository:${name}:pull,push,delete`))
    .token;
const history = async (name: string, query = "") =>
  (await api("GET", `/repository/${name}/tag/${query}`, { token: olga })).json;
const aliveDigest = async (name: string, tag: string) => {
  const res = await request("HEAD", `/v2/${name}/manifests/${tag}`, {
    token: await v2As(name),
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return res.status === 200 ? res.headers.get("Docker-Content-Digest") : null;
};
const tagList = async (name: string) =>
  (await (await request("GET", `/v2/${name}/tags/list`, { token: await v2As(name) })).json<{ tags: string[] }>()).tags;
const MISSING = `sha256:${"0".repeat(64)}`;

beforeAll(async () => {
  admin = await initializeAdmin();
  passwords.olga = await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  passwords.wanda = await makeUser(admin, "wanda");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  wanda = await tokenFor("wanda");
});

describe("GET /api/v1/repository/{repository}/tag/", () => {
  it("lists every lifetime of every tag, newest first, in Quay's JSON", async () => {
    const first = await push("olga/hist", "latest");
    const second = await push("olga/hist", "latest");
    await push("olga/hist", "other");
    const { tags: rows, page, has_additional } = await history("olga/hist");
    expect(page).toBe(1);
    expect(has_additional).toBe(false);
    expect(rows.map((r: any) => [r.name, r.manifest_digest])).toEqual([
      ["other", expect.any(String)],
      ["latest", second],
      ["latest", first],
    ]);
    const [, alive, ended] = rows;
    expect(alive).toEqual({
      name: "latest",
      reversion: false,
      start_ts: expect.any(Number),
      manifest_digest: second,
      is_manifest_list: false,
      size: expect.any(Number),
      last_modified: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/),
      immutable: false,
    });
    expect(alive.size).toBeGreaterThan(0);
    expect(ended.end_ts).toBeGreaterThanOrEqual(ended.start_ts);
    expect(ended.expiration).toMatch(/-0000$/);
  });

  it("filters with onlyActiveTags, specificTag and filter_tag_name, and pages with page/limit", async () => {
    expect((await history("olga/hist", "?onlyActiveTags=true")).tags.map((r: any) => r.name)).toEqual([
      "other",
      "latest",
    ]);
    expect((await history("olga/hist", "?specificTag=latest")).tags).toHaveLength(2);
    expect((await history("olga/hist", "?filter_tag_name=like:the")).tags.map((r: any) => r.name)).toEqual(["other"]);
    expect((await history("olga/hist", "?filter_tag_name=eq:latest")).tags).toHaveLength(2);
    expect((await history("olga/hist", "?filter_tag_name=like:%25")).tags).toHaveLength(0);
    const one = await history("olga/hist", "?limit=1");
    expect([one.tags.length, one.has_additional]).toEqual([1, true]);
    const last = await history("olga/hist", "?limit=2&page=2");
    expect([last.tags.length, last.page, last.has_additional]).toEqual([1, 2, false]);
    expect((await history("olga/hist", "?limit=1000")).tags).toHaveLength(3);
  });

  it("never shows the hidden tags that protect manifests pushed by digest", async () => {
    const digest = await push("olga/bydigest", "seed");
    const token = await v2As("olga/bydigest");
    const manifest = await (
      await request("GET", `/v2/olga/bydigest/manifests/${digest}`, {
        token,
        headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).text();
    const other = manifest.replace("}", `, "annotations": {"n": "${crypto.randomUUID()}"}}`);
    const put = await request("PUT", `/v2/olga/bydigest/manifests/sha256:${"1".repeat(64)}`, {
      token,
      body: other,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(put.status).toBe(400);
    const byDigest = await request("PUT", `/v2/olga/bydigest/manifests/${await sha(other)}`, {
      token,
      body: other,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(byDigest.status).toBe(201);
    const repo = (await db().select().from(repositories).where(eq(repositories.name, "olga/bydigest")).get())!;
    const hidden = await db()
      .select()
      .from(tags)
      .where(and(eq(tags.repositoryId, repo.id), eq(tags.hidden, true)))
      .all();
    expect(hidden).toHaveLength(1);
    expect(hidden[0]!.name).toMatch(/^\$temp-/);
    expect((await history("olga/bydigest")).tags.map((r: any) => r.name)).toEqual(["seed"]);
    expect(await tagList("olga/bydigest")).toEqual(["seed"]);
  });

  it("refuses bad parameters and hides private repositories from those who cannot pull", async () => {
    expectQuayError(await api("GET", "/repository/olga/hist/tag/?page=0", { token: olga }), 400, "invalid_request");
    expectQuayError(
      await api("GET", "/repository/olga/hist/tag/?filter_tag_name=zz:x", { token: olga }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("GET", "/repository/olga/hist/tag/", { token: gus }), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/hist/tag/"), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/nothing/tag/", { token: olga }), 404, "not_found");
    await api("POST", "/repository/olga/hist/changevisibility", { token: olga, body: { visibility: "public" } });
    expect((await api("GET", "/repository/olga/hist/tag/")).status).toBe(200);
    await api("POST", "/repository/olga/hist/changevisibility", { token: olga, body: { visibility: "private" } });
  });
});

async function sha(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `sha256:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

describe("PUT /api/v1/repository/{repository}/tag/{tag}", () => {
  it("creates a tag on a manifest of the repository and moves it, keeping the history", async () => {
    const a = await push("olga/moves", "a");
    const b = await push("olga/moves", "b");
    const created = await api("PUT", "/repository/olga/moves/tag/stable", {
      token: olga,
      body: { manifest_digest: a },
    });
    expect([created.status, created.json]).toEqual([201, "Updated"]);
    expect(await aliveDigest("olga/moves", "stable")).toBe(a);
    expect(
      (await api("PUT", "/repository/olga/moves/tag/stable", { token: olga, body: { manifest_digest: b } })).status,
    ).toBe(201);
    expect(await aliveDigest("olga/moves", "stable")).toBe(b);
    expect((await history("olga/moves", "?specificTag=stable")).tags.map((r: any) => r.manifest_digest)).toEqual([
      b,
      a,
    ]);
    // Pointing it where it already points changes nothing.
    await api("PUT", "/repository/olga/moves/tag/stable", { token: olga, body: { manifest_digest: b } });
    expect((await history("olga/moves", "?specificTag=stable")).tags).toHaveLength(2);
    expect(await tagList("olga/moves")).toEqual(["a", "b", "stable"]);
  });

  it("refuses an unknown manifest (404), a bad digest, a bad tag name and an empty change (400)", async () => {
    expectQuayError(
      await api("PUT", "/repository/olga/moves/tag/x", { token: olga, body: { manifest_digest: MISSING } }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/moves/tag/x", { token: olga, body: { manifest_digest: "sha256:zz" } }),
      400,
      "invalid_request",
    );
    // Quay's abort(400, TAG_ERROR): Flask-RESTful's bare {"message"} (issue #14; Quay's error JSON before).
    const badName = await api("PUT", "/repository/olga/moves/tag/.bad", {
      token: olga,
      body: { manifest_digest: MISSING },
    });
    expect(badName.status).toBe(400);
    expect(badName.json).toEqual({
      message: 'Invalid tag: must match [A-Za-z0-9_.-], NOT start with "." or "-", and can contain 1-128 characters',
    });
    expectQuayError(
      await api("PUT", "/repository/olga/moves/tag/x", { token: olga, body: {} }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/moves/tag/x", { token: olga, body: "{" }),
      400,
      "invalid_request",
    );
  });

  it("sets, clears and bounds a tag's expiration; an expired tag is gone from /v2", async () => {
    const digest = await push("olga/expiry", "soon");
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    expect(
      (await api("PUT", "/repository/olga/expiry/tag/soon", { token: olga, body: { expiration: inAnHour } })).status,
    ).toBe(201);
    const [row] = (await history("olga/expiry", "?onlyActiveTags=true")).tags;
    expect([row.end_ts, row.manifest_digest]).toEqual([inAnHour, digest]);
    expect(await aliveDigest("olga/expiry", "soon")).toBe(digest);
    expect(
      (await api("PUT", "/repository/olga/expiry/tag/soon", { token: olga, body: { expiration: null } })).status,
    ).toBe(201);
    expect((await history("olga/expiry", "?onlyActiveTags=true")).tags[0].end_ts).toBeUndefined();

    const now = Math.floor(Date.now() / 1000);
    expectQuayError(
      await api("PUT", "/repository/olga/expiry/tag/soon", { token: olga, body: { expiration: now - 10 } }),
      400,
      "invalid_request",
      "future",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/expiry/tag/soon", {
        token: olga,
        body: { expiration: now + 3 * 365 * 86_400 },
      }),
      400,
      "invalid_request",
      "at most",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/expiry/tag/nosuch", { token: olga, body: { expiration: now + 60 } }),
      404,
      "not_found",
    );

    await api("PUT", "/repository/olga/expiry/tag/soon", { token: olga, body: { expiration: now + 2 } });
    advanceClock(2_100);
    expect(await aliveDigest("olga/expiry", "soon")).toBeNull();
    expect(await tagList("olga/expiry")).toEqual([]);
    const [expired] = (await history("olga/expiry")).tags;
    expect(expired.end_ts).toBe(now + 2);
  });

  it("lets only writers move tags and only admins change immutability (403 otherwise, existing or not)", async () => {
    const digest = await push("olga/rights", "one");
    await api("PUT", "/repository/olga/rights/permissions/user/gus", { token: olga, body: { role: "read" } });
    await api("PUT", "/repository/olga/rights/permissions/user/wanda", { token: olga, body: { role: "write" } });
    expectQuayError(
      await api("PUT", "/repository/olga/rights/tag/two", { token: gus, body: { manifest_digest: digest } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/ghost/tag/two", { token: gus, body: { manifest_digest: digest } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("PUT", "/repository/olga/rights/tag/two", { body: { manifest_digest: digest } }),
      401,
      "invalid_token",
    );
    const readOnly = await tokenFor("wanda", ["repo:read"]);
    expectQuayError(
      await api("PUT", "/repository/olga/rights/tag/two", { token: readOnly, body: { manifest_digest: digest } }),
      403,
      "insufficient_scope",
    );
    expect(
      (await api("PUT", "/repository/olga/rights/tag/two", { token: wanda, body: { manifest_digest: digest } })).status,
    ).toBe(201);
    expectQuayError(
      await api("PUT", "/repository/olga/rights/tag/two", { token: wanda, body: { immutable: true } }),
      403,
      "insufficient_scope",
    );
    expect(
      (await api("PUT", "/repository/olga/rights/tag/two", { token: olga, body: { immutable: true } })).status,
    ).toBe(201);
  });
});

describe("immutable tags", () => {
  it("cannot be moved, deleted, expired or overwritten by a push until an admin unmarks them", async () => {
    const first = await push("olga/frozen", "v1");
    const other = await push("olga/frozen", "other");
    expect(
      (await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { immutable: true } })).status,
    ).toBe(201);
    expect((await history("olga/frozen", "?specificTag=v1")).tags[0].immutable).toBe(true);
    expectQuayError(
      await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { manifest_digest: other } }),
      400,
      "invalid_request",
      "immutable",
    );
    expectQuayError(
      await api("DELETE", "/repository/olga/frozen/tag/v1", { token: olga }),
      400,
      "invalid_request",
      "immutable",
    );
    const later = Math.floor(Date.now() / 1000) + 600;
    expectQuayError(
      await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { expiration: later } }),
      400,
      "invalid_request",
      "immutable",
    );
    expectQuayError(
      await api("POST", "/repository/olga/frozen/tag/v1/restore", { token: olga, body: { manifest_digest: other } }),
      400,
      "invalid_request",
      "immutable",
    );

    const token = await v2As("olga/frozen");
    const pushed = await pushImageWith(token, "olga/frozen", "v1");
    expect([pushed.status, await errorCode(pushed)]).toEqual([403, "DENIED"]);
    const deleted = await request("DELETE", "/v2/olga/frozen/manifests/v1", { token });
    expect([deleted.status, await errorCode(deleted)]).toEqual([403, "DENIED"]);
    const byDigest = await request("DELETE", `/v2/olga/frozen/manifests/${first}`, { token });
    expect([byDigest.status, await errorCode(byDigest)]).toEqual([403, "DENIED"]);
    expect(await aliveDigest("olga/frozen", "v1")).toBe(first);

    expect(
      (await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { immutable: false } })).status,
    ).toBe(201);
    expect(
      (await api("PUT", "/repository/olga/frozen/tag/v1", { token: olga, body: { manifest_digest: other } })).status,
    ).toBe(201);
    expect(await aliveDigest("olga/frozen", "v1")).toBe(other);
  });
});

describe("DELETE and restore", () => {
  it("deletes a tag (204) that stays restorable, and restores it as a reversion row", async () => {
    const old = await push("olga/machine", "app");
    const current = await push("olga/machine", "app");
    expect((await api("DELETE", "/repository/olga/machine/tag/app", { token: olga })).status).toBe(204);
    expect(await aliveDigest("olga/machine", "app")).toBeNull();
    expectQuayError(await api("DELETE", "/repository/olga/machine/tag/app", { token: olga }), 404, "not_found");

    const restored = await api("POST", "/repository/olga/machine/tag/app/restore", {
      token: olga,
      body: { manifest_digest: current },
    });
    expect([restored.status, restored.json]).toEqual([200, {}]);
    expect(await aliveDigest("olga/machine", "app")).toBe(current);
    // Back to the version before: the history keeps both, the newest row a reversion.
    expect(
      (await api("POST", "/repository/olga/machine/tag/app/restore", { token: olga, body: { manifest_digest: old } }))
        .status,
    ).toBe(200);
    expect(await aliveDigest("olga/machine", "app")).toBe(old);
    const rows = (await history("olga/machine", "?specificTag=app")).tags;
    expect(rows.map((r: any) => [r.manifest_digest, r.reversion])).toEqual([
      [old, true],
      [current, true],
      [current, false],
      [old, false],
    ]);
  });

  it("brings back a manifest deleted by digest, pullable again", async () => {
    const digest = await push("olga/undelete", "keep");
    const token = await v2As("olga/undelete");
    expect((await request("DELETE", `/v2/olga/undelete/manifests/${digest}`, { token })).status).toBe(202);
    expect(await aliveDigest("olga/undelete", "keep")).toBeNull();
    expect(
      (
        await api("POST", "/repository/olga/undelete/tag/keep/restore", {
          token: olga,
          body: { manifest_digest: digest },
        })
      ).status,
    ).toBe(200);
    const pulled = await request("GET", `/v2/olga/undelete/manifests/keep`, {
      token,
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect([pulled.status, pulled.headers.get("Docker-Content-Digest")]).toEqual([200, digest]);
  });

  it("refuses outside the namespace's time-machine window, and unknown manifests", async () => {
    const digest = await push("wanda/short", "gone");
    expect((await api("PUT", "/user/", { token: wanda, body: { tag_expiration_s: 0 } })).status).toBe(200);
    expect((await api("GET", "/user/", { token: wanda })).json.tag_expiration_s).toBe(0);
    expect((await api("DELETE", "/repository/wanda/short/tag/gone", { token: wanda })).status).toBe(204);
    expectQuayError(
      await api("POST", "/repository/wanda/short/tag/gone/restore", {
        token: wanda,
        body: { manifest_digest: digest },
      }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("POST", "/repository/olga/machine/tag/app/restore", {
        token: olga,
        body: { manifest_digest: MISSING },
      }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("POST", "/repository/olga/machine/tag/app/restore", { token: olga, body: {} }),
      400,
      "invalid_request",
    );
    // With a window again, the same deletion is restorable.
    expect((await api("PUT", "/user/", { token: wanda, body: { tag_expiration_s: 86_400 } })).status).toBe(200);
    expect(
      (
        await api("POST", "/repository/wanda/short/tag/gone/restore", {
          token: wanda,
          body: { manifest_digest: digest },
        })
      ).status,
    ).toBe(200);
  });

  it("accepts only TAG_EXPIRATION_OPTIONS as a window", async () => {
    expectQuayError(
      await api("PUT", "/user/", { token: wanda, body: { tag_expiration_s: 12_345 } }),
      400,
      "invalid_request",
      "Invalid tag expiration option",
    );
    expect((await api("GET", "/user/", { token: wanda })).json.tag_expiration_s).toBe(86_400);
  });

  it("refuses deleting and restoring to readers (403) and hides private repositories", async () => {
    await push("olga/guarded", "t");
    await api("PUT", "/repository/olga/guarded/permissions/user/gus", { token: olga, body: { role: "read" } });
    expectQuayError(await api("DELETE", "/repository/olga/guarded/tag/t", { token: gus }), 403, "insufficient_scope");
    expectQuayError(
      await api("POST", "/repository/olga/guarded/tag/t/restore", { token: gus, body: { manifest_digest: MISSING } }),
      403,
      "insufficient_scope",
    );
    expect(await aliveDigest("olga/guarded", "t")).not.toBeNull();
  });
});

describe("POST …/tag/{tag}/expire (PERMANENTLY_DELETE_TAGS)", () => {
  /** The Worker with PERMANENTLY_DELETE_TAGS set, as an operator would configure it. */
  async function permanently(path: string, body: unknown, token = olga) {
    const ctx = createExecutionContext();
    const res = await createApp().fetch(
      new Request(`${BASE}/api/v1${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
      { ...env, PERMANENTLY_DELETE_TAGS: "true" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("is absent (404) unless configured", async () => {
    const digest = await push("olga/perm", "x");
    expectQuayError(
      await api("POST", "/repository/olga/perm/tag/x/expire", { token: olga, body: { manifest_digest: digest } }),
      404,
      "not_found",
    );
  });

  it("removes ended rows from the time machine so they can no longer be restored; with is_alive the alive one too", async () => {
    const first = await push("olga/perm", "x");
    await push("olga/perm", "x");
    expect((await permanently("/repository/olga/perm/tag/x/expire", { manifest_digest: first })).status).toBe(204);
    expectQuayError(
      await api("POST", "/repository/olga/perm/tag/x/restore", { token: olga, body: { manifest_digest: first } }),
      404,
      "not_found",
    );
    const alive = (await aliveDigest("olga/perm", "x"))!;
    expect(
      (await permanently("/repository/olga/perm/tag/x/expire", { manifest_digest: alive, is_alive: true })).status,
    ).toBe(204);
    expect(await aliveDigest("olga/perm", "x")).toBeNull();
    expect(
      (await permanently("/repository/olga/perm/tag/x/expire", { manifest_digest: alive, is_alive: true })).status,
    ).toBe(404);
    // Writers may not: it is the administrators'.
    await api("PUT", "/repository/olga/perm/permissions/user/wanda", { token: olga, body: { role: "write" } });
    expect((await permanently("/repository/olga/perm/tag/x/expire", { manifest_digest: alive }, wanda)).status).toBe(
      403,
    );
  });
});
