/**
 * Quay's logs API over the action logs (src/routes/api/logs.ts): the entries' JSON, one entry per
 * event however often it is delivered, the window (`starttime`, `endtime`), `performer`, pages of
 * 20 with `next_page`, the per-day counts of `aggregatelogs`, and who may read what.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { count, eq } from "drizzle-orm";
import { actionLogs } from "../../../src/db/schema";
import { allShardDbs } from "../../../src/db/shards";
import { api, avatarMatching, expectQuayError, fixtureCall, initializeAdmin } from "../helpers/api";
import { basic, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { consume, entryOf, logsOf, recordLogs } from "../helpers/action-logs";
import { advanceClock } from "../helpers/clock";
import { request } from "../helpers/registry";

const IP = "198.51.100.7";
let admin: string;
let olga: string;
let olgaPassword: string;
let gus: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function createRepo(token: string, namespace: string, name: string, visibility = "private") {
  await api("POST", "/repository", {
    token,
    headers: { "CF-Connecting-IP": IP },
    body: { namespace, repository: name, visibility, description: "" },
  });
}

describe("an entry's JSON", () => {
  it("push_repo as Quay writes it: kind, metadata, ip, datetime, performer with avatar; no namespace", async () => {
    const logs = recordLogs();
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/shape:pull,push")).token;
    const pushed = await pushImageWith(token, "olga/shape", "v1");
    expect(pushed.status).toBe(201);
    await logs.deliver();
    const entry = await entryOf(olga, "/repository/olga/shape/logs", "push_repo");
    expect(entry).toEqual({
      kind: "push_repo",
      metadata: {
        repo: "shape",
        namespace: "olga",
        username: "olga",
        tag: "v1",
        manifest_digest: pushed.headers.get("Docker-Content-Digest"),
      },
      ip: null,
      datetime: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/),
      performer: { kind: "user", name: "olga", is_robot: false, avatar: avatarMatching("olga", "user") },
    });
    expect(await entryOf(olga, "/repository/olga/shape/logs", "create_repo")).toMatchObject({
      metadata: { repo: "shape", namespace: "olga" },
    });
  });

  it("the superuser's listing adds the namespace, and only superusers read it", async () => {
    const logs = recordLogs();
    await createRepo(olga, "olga", "seen-by-admin");
    await logs.deliver();
    const entry = (await logsOf(admin, "/superuser/logs")).find(
      (e) => e.kind === "create_repo" && e.metadata.repo === "seen-by-admin",
    );
    expect(entry).toMatchObject({
      ip: IP,
      namespace: { kind: "user", name: "olga", avatar: avatarMatching("olga", "user") },
    });
    expectQuayError(await api("GET", "/superuser/logs", { token: olga }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/superuser/aggregatelogs", { token: olga }), 403, "insufficient_scope");
  });
});

describe("pull_repo, from the one pull count", () => {
  it("each pull is an entry, written with the counts: by tag and by digest, by a user or anonymous", async () => {
    const logs = recordLogs();
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/pulled:pull,push")).token;
    const pushed = await pushImageWith(token, "olga/pulled", "v1");
    const digest = pushed.headers.get("Docker-Content-Digest")!;
    const accept = { Accept: "application/vnd.oci.image.manifest.v1+json", "CF-Connecting-IP": IP };
    const byTag = { ...accept, "User-Agent": "containerd/2.0" };
    expect((await request("GET", "/v2/olga/pulled/manifests/v1", { token, headers: byTag })).status).toBe(200);
    // A User-Agent is kept to 256 characters.
    const long = { ...accept, "User-Agent": `docker/27 ${"x".repeat(400)}` };
    expect((await request("GET", `/v2/olga/pulled/manifests/${digest}`, { token, headers: long })).status).toBe(200);
    expect((await request("GET", `/v2/olga/pulled/manifests/${digest}`, { token, headers: accept })).status).toBe(200);
    await logs.deliver();
    const pulls = (await logsOf(olga, "/repository/olga/pulled/logs")).filter((e) => e.kind === "pull_repo");
    const userAgent = `docker/27 ${"x".repeat(400)}`.slice(0, 256);
    expect(pulls.map((e) => e.metadata)).toEqual([
      { repo: "pulled", namespace: "olga", manifest_digest: digest, username: "olga" },
      { repo: "pulled", namespace: "olga", manifest_digest: digest, username: "olga", "user-agent": userAgent },
      {
        repo: "pulled",
        namespace: "olga",
        tag: "v1",
        manifest_digest: digest,
        username: "olga",
        "user-agent": "containerd/2.0",
      },
    ]);
    expect(pulls[0]).toMatchObject({ ip: IP, performer: { name: "olga", is_robot: false } });
  });
});

describe("delivery", () => {
  it("an event delivered twice (a queue redelivery past the consumer's dedup) is one entry", async () => {
    const logs = recordLogs();
    await createRepo(olga, "olga", "twice");
    await logs.deliver();
    const events = logs.sent.filter((b) => (b as { kind?: string }).kind === "create_repo");
    expect(events).toHaveLength(1);
    // The consumer skips a delivered id: hand the subscriber the event again as a lost record would.
    const { deliverEvent } = await import("../../../src/events/subscribers");
    await deliverEvent(env, events[0] as never);
    await consume(events);
    // Counted in every D1 database: the namespace's entries live in its shard (src/db/shards.ts).
    let entries = 0;
    for (const shard of allShardDbs(env))
      entries +=
        (
          await shard
            .select({ n: count() })
            .from(actionLogs)
            .where(eq(actionLogs.eventId, (events[0] as { id: string }).id))
            .get()
        )?.n ?? 0;
    expect(entries).toBe(1);
  });
});

describe("access", () => {
  it("a repository's logs: its admins; 403 for a reader of a public one; 404 for outsiders of a private one", async () => {
    await createRepo(olga, "olga", "open", "public");
    await createRepo(olga, "olga", "closed", "private");
    expect((await api("GET", "/repository/olga/open/logs", { token: olga })).status).toBe(200);
    expectQuayError(await api("GET", "/repository/olga/open/logs", { token: gus }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/repository/olga/open/aggregatelogs", { token: gus }), 403, "insufficient_scope");
    expect((await api("GET", "/repository/olga/closed/logs", { token: gus })).status).toBe(404);
    expect((await api("GET", "/repository/olga/closed/aggregatelogs", { token: gus })).status).toBe(404);
    expect((await api("GET", "/repository/olga/closed/logs")).status).toBe(401);
  });

  it("an organization's logs: its admins only, 403 for others whether or not it exists", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "logsorg", email: "logsorg@example.com" });
    expect((await api("GET", "/organization/logsorg/logs", { token: olga })).status).toBe(200);
    expectQuayError(await api("GET", "/organization/logsorg/logs", { token: gus }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/nosuchorg/logs", { token: gus }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/logsorg/aggregatelogs", { token: gus }), 403, "insufficient_scope");
  });

  it("a user's logs need user:admin", async () => {
    const readOnly = await tokenFor("gus", ["repo:read"]);
    expectQuayError(await api("GET", "/user/logs", { token: readOnly }), 403, "insufficient_scope");
    expect((await api("GET", "/user/logs")).status).toBe(401);
  });
});

describe("the window, the performer and pages", () => {
  it("pages of 20 newest first, next_page continuing where the last ended; a foreign token is refused", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "pagedorg", email: "pagedorg@example.com" });
    const logs = recordLogs();
    for (let i = 0; i < 24; i++) await createRepo(olga, "pagedorg", `r${String(i).padStart(2, "0")}`);
    await logs.deliver();
    const first = await api("GET", "/organization/pagedorg/logs", { token: olga });
    expect(first.json.logs).toHaveLength(20);
    expect(first.json.next_page).toEqual(expect.any(String));
    const second = await api("GET", `/organization/pagedorg/logs?next_page=${first.json.next_page}`, { token: olga });
    expect(second.json.next_page).toBeUndefined();
    const repos = [...first.json.logs, ...second.json.logs]
      .filter((e: any) => e.kind === "create_repo")
      .map((e: any) => e.metadata.repo);
    expect(repos).toEqual(Array.from({ length: 24 }, (_, i) => `r${String(23 - i).padStart(2, "0")}`));
    const user = await api("GET", "/user/logs", { token: olga });
    expectQuayError(
      await api("GET", `/user/logs?next_page=${first.json.next_page}`, { token: olga }),
      400,
      "invalid_request",
    );
    expect(user.status).toBe(200);
  });

  it("starttime/endtime as MM/DD/YYYY or YYYY-MM-DD, the end day included; defaults a day back to now", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "timedorg", email: "timedorg@example.com" });
    const logs = recordLogs();
    await createRepo(olga, "timedorg", "then");
    await logs.deliver();
    const today = new Date();
    const mdy = `${today.getUTCMonth() + 1}/${today.getUTCDate()}/${today.getUTCFullYear()}`;
    const iso = today.toISOString().slice(0, 10);
    for (const q of [`starttime=${mdy}&endtime=${mdy}`, `starttime=${iso}&endtime=${iso}`, ""]) {
      const res = await api("GET", `/organization/timedorg/logs?${q}`, { token: olga });
      expect(
        res.json.logs.map((e: any) => e.kind),
        q,
      ).toContain("create_repo");
    }
    const window = await api("GET", `/organization/timedorg/logs?starttime=${iso}&endtime=${iso}`, { token: olga });
    const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    expect(window.json.start_time).toBe(new Date(midnight).toUTCString().replace("GMT", "-0000"));
    expect(window.json.end_time).toBe(new Date(midnight + 86_400_000).toUTCString().replace("GMT", "-0000"));
    const before = await api("GET", "/organization/timedorg/logs?starttime=01/01/2020&endtime=01/02/2020", {
      token: olga,
    });
    expect(before.json.logs).toEqual([]);
    expectQuayError(
      await api("GET", "/organization/timedorg/logs?starttime=01/05/2020&endtime=01/02/2020", { token: olga }),
      400,
      "invalid_request",
    );
    // A date of the first century is that year, not the 1900s'.
    const ancient = await api("GET", "/organization/timedorg/logs?starttime=01/01/0050&endtime=01/01/0050", {
      token: olga,
    });
    expect(ancient.json.start_time).toMatch(/^\w{3}, 01 Jan 0050 00:00:00 -0000$/);
    // Two days on, the default window (a day back) no longer holds it.
    advanceClock(2 * 86_400_000);
    expect((await logsOf(olga, "/organization/timedorg/logs")).map((e) => e.kind)).not.toContain("create_repo");
  });

  it("performer narrows to one account's actions; an unknown name matches nothing", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "byorg", email: "byorg@example.com" });
    const logs = recordLogs();
    await createRepo(olga, "byorg", "mine");
    await logs.deliver();
    expect((await logsOf(olga, "/organization/byorg/logs?performer=olga")).length).toBeGreaterThan(0);
    expect(await logsOf(olga, "/organization/byorg/logs?performer=gus")).toEqual([]);
    expect(await logsOf(olga, "/organization/byorg/logs?performer=nobody")).toEqual([]);
  });
});

describe("aggregatelogs", () => {
  it("counts per kind and UTC day, dated at the day's midnight; four weeks or more is refused", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "aggorg", email: "aggorg@example.com" });
    const logs = recordLogs();
    await createRepo(olga, "aggorg", "a1");
    await createRepo(olga, "aggorg", "a2");
    await logs.deliver();
    const res = await api("GET", "/organization/aggorg/aggregatelogs", { token: olga });
    const today = new Date();
    const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    expect(res.json.aggregated).toContainEqual({
      kind: "create_repo",
      count: 2,
      datetime: new Date(midnight).toUTCString().replace("GMT", "-0000"),
    });
    const perRepo = await api("GET", "/repository/aggorg/a1/aggregatelogs", { token: olga });
    expect(perRepo.json.aggregated).toEqual([expect.objectContaining({ kind: "create_repo", count: 1 })]);
    expectQuayError(
      await api("GET", "/organization/aggorg/aggregatelogs?starttime=01/01/2020&endtime=02/01/2020", { token: olga }),
      400,
      "invalid_request",
      "Invalid date range for logs",
    );
  });

  it("answers Quay's documented misspelling `aggreatelogs` as `aggregatelogs`, access included", async () => {
    for (const path of ["/organization/aggorg", "/repository/aggorg/a1", "/user"]) {
      const right = await api("GET", `${path}/aggregatelogs`, { token: olga });
      const misspelt = await api("GET", `${path}/aggreatelogs`, { token: olga });
      expect(misspelt.status, path).toBe(200);
      expect(misspelt.json, path).toEqual(right.json);
    }
    expectQuayError(await api("GET", "/organization/aggorg/aggreatelogs", { token: gus }), 403, "insufficient_scope");
    // The query goes along: a window too long is refused as on the right path.
    const window = "?starttime=01/01/2020&endtime=02/01/2020";
    expectQuayError(await api("GET", `/user/aggreatelogs${window}`, { token: olga }), 400, "invalid_request");
    expectQuayError(await api("GET", "/user/aggreatelogsx", { token: olga }), 404, "not_found");
  });
});
