/**
 * The action-log archive (src/events/logs-archive.ts): with ACTION_LOG_ARCHIVE on (the default),
 * the cron moves entries past ACTION_LOG_RETENTION to R2 as NDJSON, a file per day, namespace and
 * batch, instead of deleting them; the logs listings and aggregatelogs read them when their window
 * reaches back that far, merged in order with what D1 still holds, pages continuing across both.
 * Off, the entries are deleted.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { count } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { actionLogs } from "../../../src/db/schema";
import { retainActionLogs } from "../../../src/events/logs-retention";
import worker from "../../../src/index";
import { clock } from "../../../src/lib/clock";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "../helpers/api";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { recordLogs } from "../helpers/action-logs";
import { advanceClock } from "../helpers/clock";

const DAY = 86_400_000;
let olga: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function tick() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: clock.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** Creates `n` repositories named `<prefix>NN` in `org`, and delivers their entries. */
async function createRepos(org: string, prefix: string, n: number) {
  const logs = recordLogs();
  for (let i = 0; i < n; i++) await createPrivateRepository(olga, org, `${prefix}${String(i).padStart(2, "0")}`);
  await logs.deliver();
}

const mdy = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
};

const entriesInD1 = async () => (await db().select({ n: count() }).from(actionLogs).get())!.n;

describe("the archive", () => {
  it("moves entries past the retention to R2 by day and namespace; listings read them, merged with D1, across pages", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "archived", email: "archived@example.com" });
    const then = Date.now();
    await createRepos("archived", "old", 15);
    advanceClock(31 * DAY);
    await tick();
    const keys = (await env.BLOBS.list({ prefix: "actionlogarchive/" })).objects.map((o) => o.key);
    expect(keys.length).toBeGreaterThan(0);
    const day = new Date(then).toISOString().slice(0, 10);
    for (const key of keys)
      expect(key).toMatch(new RegExp(`^actionlogarchive/${day}/(\\d+|_)/(s\\d+-)?\\d+-\\d+\\.ndjson$`));
    expect(await entriesInD1()).toBe(0);

    await createRepos("archived", "new", 10);
    const window = `starttime=${mdy(then)}&endtime=${mdy(clock.now())}`;
    const first = await api("GET", `/organization/archived/logs?${window}`, { token: olga });
    expect(first.status).toBe(200);
    const second = await api("GET", `/organization/archived/logs?${window}&next_page=${first.json.next_page}`, {
      token: olga,
    });
    const repos = [...first.json.logs, ...second.json.logs]
      .filter((e: { kind: string }) => e.kind === "create_repo")
      .map((e: { metadata: { repo: string } }) => e.metadata.repo);
    const names = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${prefix}${String(n - 1 - i).padStart(2, "0")}`);
    expect(repos).toEqual([...names("new", 10), ...names("old", 15)]);
    expect(first.json.logs).toHaveLength(20);
    expect(second.json.next_page).toBeUndefined();

    // Only the window's days: the archived day alone, and its counts.
    const old = await api("GET", `/organization/archived/logs?starttime=${mdy(then)}&endtime=${mdy(then)}`, {
      token: olga,
    });
    expect(old.json.logs.filter((e: { kind: string }) => e.kind === "create_repo")).toHaveLength(15);
    const counted = await api(
      "GET",
      `/organization/archived/aggregatelogs?starttime=${mdy(then)}&endtime=${mdy(then)}`,
      {
        token: olga,
      },
    );
    expect(counted.json.aggregated).toContainEqual(expect.objectContaining({ kind: "create_repo", count: 15 }));
    // Another namespace's listing reads none of them.
    expect(
      (await api("GET", `/user/logs?starttime=${mdy(then)}&endtime=${mdy(then)}`, { token: olga })).json.logs,
    ).toEqual([]);
  });

  it("a window reaching far back reads a bounded number of days a page, next_page continuing to the rest", async () => {
    await fixtureCall(olga, "POST", "/organization/", { name: "faraway", email: "faraway@example.com" });
    const then = clock.now();
    await createRepos("faraway", "far", 3);
    advanceClock(100 * DAY);
    await tick();
    let query = `starttime=${mdy(then)}&endtime=${mdy(clock.now())}`;
    const found: string[] = [];
    let pages = 0;
    for (; pages < 10; pages++) {
      const res = await api("GET", `/organization/faraway/logs?${query}`, { token: olga });
      expect(res.status).toBe(200);
      found.push(
        ...res.json.logs.filter((e: { kind: string }) => e.kind === "create_repo").map((e: any) => e.metadata.repo),
      );
      if (!res.json.next_page) break;
      query = `starttime=${mdy(then)}&endtime=${mdy(clock.now())}&next_page=${res.json.next_page}`;
    }
    expect(found).toEqual(["far02", "far01", "far00"]);
    // 70 days lie between the cutoff and the archived day: more than one read's bound.
    expect(pages).toBeGreaterThanOrEqual(2);
  });

  it("off, entries past the retention are deleted, and nothing is written to R2", async () => {
    await db().delete(actionLogs);
    const now = clock.now();
    await db()
      .insert(actionLogs)
      .values({ kind: "create_repo", metadata: "{}", datetime: now - 40 * DAY });
    const store = new R2BlobStore(env.BLOBS);
    const before = (await env.BLOBS.list({ prefix: "actionlogarchive/" })).objects.length;
    const config = { ACTION_LOG_RETENTION: 30 * 86_400, ACTION_LOG_ARCHIVE: false };
    expect(await retainActionLogs(db(), store, now, config)).toBe(1);
    expect(await entriesInD1()).toBe(0);
    expect((await env.BLOBS.list({ prefix: "actionlogarchive/" })).objects.length).toBe(before);
  });
});
