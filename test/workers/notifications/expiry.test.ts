/**
 * `repo_image_expiry` (src/notifications/expiry.ts): on the cron, tags that expire within the
 * notification's `days` are announced in one delivery per notification, each tag once however
 * many scans see it; tags expiring later, or not at all, are not; a disabled notification
 * announces nothing.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { repositoryNotifications } from "../../../src/db/schema";
import { EXPIRY_SCAN_MINUTES, expiryScanDue, notifyExpiringTags } from "../../../src/notifications/expiry";
import { db, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordDeliveries } from "../helpers/notifications";

let admin: string;
let eve: string;
const DAY = 86_400_000;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "eve");
  eve = await tokenFor("eve");
  for (const tag of ["soon", "later", "forever"]) await pushTaggedAs("eve", "eve/app", tag);
});

afterEach(() => vi.restoreAllMocks());

const expire = async (tag: string, atMs: number) =>
  expect(
    (
      await api("PUT", `/repository/eve/app/tag/${tag}`, {
        token: eve,
        body: { expiration: Math.floor(atMs / 1000) },
      })
    ).status,
  ).toBe(201);

describe("repo_image_expiry", () => {
  it("announces each tag expiring within `days` once, in one delivery per notification", async () => {
    const now = Date.now();
    await expire("soon", now + 2 * DAY);
    await expire("later", now + 9 * DAY);
    const created = await api("POST", "/repository/eve/app/notification/", {
      token: eve,
      body: {
        event: "repo_image_expiry",
        method: "webhook",
        config: { url: "https://hooks.example.com/x" },
        eventConfig: { days: 3 },
      },
    });
    const uuid = created.json.uuid;

    const queued = recordDeliveries();
    expect(await notifyExpiringTags(env, now)).toBe(1);
    expect(queued).toEqual([
      {
        id: expect.any(String),
        notification: uuid,
        event: "repo_image_expiry",
        payload: {
          repository: "eve/app",
          namespace: "eve",
          name: "app",
          docker_url: "registry.test/eve/app",
          homepage: "http://registry.test/repository/eve/app",
          tags: ["soon"],
          expiring_in: "3 days",
        },
      },
    ]);
    // Announced once: the next scans queue nothing for it.
    expect(await notifyExpiringTags(env, now + 60_000)).toBe(0);
    // A week later, `later` comes within three days.
    expect(await notifyExpiringTags(env, now + 7 * DAY)).toBe(1);
    expect(queued[1]!.payload.tags).toEqual(["later"]);
    expect(queued).toHaveLength(2);

    // A disabled notification announces nothing.
    await expire("forever", now + DAY);
    await db()
      .update(repositoryNotifications)
      .set({ numberOfFailures: 3 })
      .where(eq(repositoryNotifications.uuid, uuid));
    expect(await notifyExpiringTags(env, now)).toBe(0);
  });

  it(`runs every ${EXPIRY_SCAN_MINUTES} minutes of the cron`, () => {
    const minute = 60_000;
    const due = [0, 1, 2, 3, 4, 5, 6, 10].map((m) => expiryScanDue(Date.UTC(2026, 0, 1) + m * minute));
    expect(due).toEqual([true, false, false, false, false, true, false, true]);
  });
});
