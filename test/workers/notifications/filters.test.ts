/**
 * Quay's event filters (`should_perform`) and `spawn_notification` for the events later issues
 * fire: `vulnerability_found` by `level` (0 Critical … 5 Unknown), the build events by `ref-regex`
 * (matched from the ref's start, through the non-backtracking matcher).
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { shouldNotify } from "../../../src/notifications/events";
import { spawnNotifications } from "../../../src/notifications/spawn";
import { findRepository } from "../../../src/registry/repositories";
import { db, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordDeliveries } from "../helpers/notifications";

const vulnerability = (priority: string) => ({ vulnerability: { id: "CVE-1", priority } });
const build = (ref?: string) => ({ build_id: "b", trigger_metadata: ref === undefined ? {} : { ref } });

describe("event filters", () => {
  it("vulnerability_found: at least as severe as `level`", () => {
    expect(shouldNotify("vulnerability_found", { level: 1 }, vulnerability("Critical"))).toBe(true);
    expect(shouldNotify("vulnerability_found", { level: 1 }, vulnerability("High"))).toBe(true);
    expect(shouldNotify("vulnerability_found", { level: "1" }, vulnerability("Medium"))).toBe(false);
    expect(shouldNotify("vulnerability_found", { level: 1 }, {})).toBe(false);
    expect(shouldNotify("vulnerability_found", {}, vulnerability("Low"))).toBe(true);
    expect(shouldNotify("vulnerability_found", { level: 0 }, { vulnerable_index_report_created: true })).toBe(true);
  });

  it("build events: a ref the ref-regex matches from its start; none without a git ref", () => {
    const config = { "ref-regex": "refs/heads/(main|release-.*)" };
    expect(shouldNotify("build_success", config, build("refs/heads/main"))).toBe(true);
    expect(shouldNotify("build_failure", config, build("refs/heads/release-2"))).toBe(true);
    expect(shouldNotify("build_start", config, build("refs/tags/x/refs/heads/main"))).toBe(false);
    expect(shouldNotify("build_queued", config, build())).toBe(false);
    expect(shouldNotify("build_queued", {}, build())).toBe(true);
    expect(shouldNotify("repo_push", config, {})).toBe(true);
  });
});

describe("spawnNotifications", () => {
  beforeAll(async () => {
    const admin = await initializeAdmin();
    await makeUser(admin, "vic");
    await pushTaggedAs("vic", "vic/app", "v1");
  });
  afterEach(() => vi.restoreAllMocks());

  it("queues the repository's notifications of the event that its filters let through", async () => {
    const vic = await tokenFor("vic");
    for (const level of [0, 2])
      await api("POST", "/repository/vic/app/notification/", {
        token: vic,
        body: {
          event: "vulnerability_found",
          method: "webhook",
          config: { url: "https://hooks.example.com/v" },
          eventConfig: { level },
          title: `level ${level}`,
        },
      });
    const repository = (await findRepository(db(), "vic/app"))!;
    const queued = recordDeliveries();
    expect(await spawnNotifications(env, repository, "vulnerability_found", vulnerability("High"))).toBe(1);
    expect(queued[0]!.payload).toMatchObject({ repository: "vic/app", vulnerability: { priority: "High" } });
    expect(await spawnNotifications(env, repository, "vulnerability_found", vulnerability("Critical"))).toBe(2);
    expect(await spawnNotifications(env, repository, "build_success", build("refs/heads/main"))).toBe(0);
  });
});
