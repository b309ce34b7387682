/**
 * A repository's activity as Quay computes it from its action logs
 * (src/registry/repository-activity.ts): the view's `stats` (every logged action per day, pulls
 * included) and the listings' `popularity` (the last week's), counted once however often an event
 * is delivered, and kept past the entries' retention.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, initializeAdmin } from "../helpers/api";
import { basic, makeUser, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { consume, logsOf, recordLogs } from "../helpers/action-logs";
import { advanceClock } from "../helpers/clock";
import { request } from "../helpers/registry";

let olga: string;
let olgaPassword: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

const popularityIn = (list: { name: string; popularity: number }[], name: string) =>
  list.find((r) => r.name === name)?.popularity;

describe("stats and popularity", () => {
  it("count every logged action, pulls included, once per event; stats from yesterday back, popularity a week", async () => {
    const logs = recordLogs();
    const token = (await v2Token(basic("olga", olgaPassword), "repository:olga/busy:pull,push")).token;
    expect((await pushImageWith(token, "olga/busy", "v1")).status).toBe(201);
    const accept = { Accept: "application/vnd.oci.image.manifest.v1+json" };
    for (let i = 0; i < 2; i++)
      expect((await request("GET", "/v2/olga/busy/manifests/v1", { token, headers: accept })).status).toBe(200);
    await logs.deliver();
    const entries = await logsOf(olga, "/repository/olga/busy/logs");
    expect(entries.filter((e) => e.kind === "pull_repo")).toHaveLength(2);
    const actions = entries.length;
    expect(actions).toBeGreaterThanOrEqual(4);
    // A redelivered event (past the consumer's dedup: its id forgotten) counts nothing more.
    const { deliverEvent } = await import("../../../src/events/subscribers");
    const { env } = await import("cloudflare:workers");
    for (const body of logs.sent.filter((b) => (b as { kind?: string }).kind)) await deliverEvent(env, body as never);
    await consume([]);

    const list = await api("GET", "/repository?namespace=olga&popularity=true", { token: olga });
    expect(popularityIn(list.json.repositories, "busy")).toBe(actions);
    const found = await api("GET", "/find/repositories?query=busy", { token: olga });
    expect(found.json.results[0]).toMatchObject({ name: "busy", popularity: actions });

    advanceClock(86_400_000);
    const view = await api("GET", "/repository/olga/busy?includeStats=true", { token: olga });
    expect(view.json.stats[0]).toEqual({ date: new Date(Date.now()).toISOString().slice(0, 10), count: actions });

    // Past a week the popularity is spent; the stats keep the day.
    advanceClock(7 * 86_400_000);
    const later = await api("GET", "/repository?namespace=olga&popularity=true", { token: olga });
    expect(popularityIn(later.json.repositories, "busy")).toBe(0);
    const kept = await api("GET", "/repository/olga/busy?includeStats=true", { token: olga });
    expect(kept.json.stats[7]).toEqual({ date: expect.any(String), count: actions });
  });
});
