/**
 * Delivering repository notifications (src/notifications/): a pushed tag's `push_repo` event, on
 * the EVENTS consumer, queues `repo_push` deliveries; the NOTIFICATIONS consumer POSTs them through
 * the outbound guard. Any 2xx is success; anything else is counted and retried with backoff, and
 * the third failure disables the notification until it is reset (Quay's notification worker).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { RegistryEvent } from "../../../src/events/catalogue";
import worker from "../../../src/index";
import { retryDelaySeconds } from "../../../src/notifications/delivery";
import { repositoryNotifications } from "../../../src/db/schema";
import { db, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { consumeDeliveries, receiver, recordDeliveries } from "../helpers/notifications";

let admin: string;
let pia: string;
const HOOK = "https://hooks.example.com/pushed";

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "pia");
  pia = await tokenFor("pia");
  await pushTaggedAs("pia", "pia/app", "seed");
});

afterEach(async () => {
  vi.restoreAllMocks();
  await db().delete(repositoryNotifications);
});

async function notification(body: Record<string, unknown>): Promise<string> {
  const res = await api("POST", "/repository/pia/app/notification/", {
    token: pia,
    body: { event: "repo_push", method: "webhook", config: { url: HOOK }, eventConfig: {}, ...body },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.uuid;
}

/** Hands events to the EVENTS consumer, as the queue would. */
async function consumeEvents(events: RegistryEvent[]) {
  const batch = createMessageBatch(
    "wharf-events",
    events.map((body, i) => ({ id: `event-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

/** Pushes `tag` to pia/app; the deliveries its event queues. */
async function pushAndSpawn(tag: string) {
  const events = recordEvents();
  await pushTaggedAs("pia", "pia/app", tag);
  const queued = recordDeliveries();
  await consumeEvents(await events.published("push_repo"));
  return queued;
}

const failures = async (uuid: string) =>
  (await api("GET", `/repository/pia/app/notification/${uuid}`, { token: pia })).json.number_of_failures;

describe("repo_push delivery", () => {
  it("POSTs Quay's repo_push payload for a pushed tag, through the queue, and a 2xx is success", async () => {
    const uuid = await notification({});
    const queued = await pushAndSpawn("v1");
    expect(queued).toHaveLength(1);
    const received = receiver(204);
    const result = await consumeDeliveries(queued);
    expect(result.explicitAcks).toEqual(["delivery-0"]);
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe(HOOK);
    expect(received[0]!.headers.get("Content-Type")).toBe("application/json");
    expect(received[0]!.body).toEqual({
      repository: "pia/app",
      namespace: "pia",
      name: "app",
      docker_url: "registry.test/pia/app",
      homepage: "http://registry.test/repository/pia/app",
      updated_tags: ["v1"],
    });
    expect(await failures(uuid)).toBe(0);
    await api("DELETE", `/repository/pia/app/notification/${uuid}`, { token: pia });
  });

  it("applies Quay's body template", async () => {
    // Quay's template syntax, not JavaScript's: the `${…}` are meant literally.
    const [tags, repo] = ["$" + "{updated_tags}", "$" + "{repository}"];
    const template = JSON.stringify({ text: `pushed ${tags} to ${repo}`, tags });
    const uuid = await notification({ config: { url: HOOK, template } });
    const queued = await pushAndSpawn("v2");
    const received = receiver(200);
    await consumeDeliveries(queued);
    expect(received[0]!.body).toEqual({ text: "pushed v2 to pia/app", tags: ["v2"] });
    await api("DELETE", `/repository/pia/app/notification/${uuid}`, { token: pia });
  });

  it("counts failures, retries with backoff, disables at the third, and the reset enables it again", async () => {
    const uuid = await notification({});
    const queued = await pushAndSpawn("v3");
    const received = receiver(500);
    const first = await consumeDeliveries(queued, 1);
    expect(first.retryMessages).toEqual([{ msgId: "delivery-0" }]);
    // The backoff the retries wait (the queue result does not report it): 30 s, 2 min, 8 min, ≤ 15 min.
    expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([30, 120, 480, 900]);
    expect(await failures(uuid)).toBe(1);
    await consumeDeliveries(queued, 2);
    expect(await failures(uuid)).toBe(2);
    // The third failure disables it: acknowledged, no further retry.
    const third = await consumeDeliveries(queued, 3);
    expect(third.retryMessages).toEqual([]);
    expect(third.explicitAcks).toEqual(["delivery-0"]);
    expect(await failures(uuid)).toBe(3);
    expect(received).toHaveLength(3);

    // Disabled: a queued delivery is dropped unsent, and a push queues none.
    await consumeDeliveries(queued, 4);
    expect(received).toHaveLength(3);
    expect(await pushAndSpawn("v4")).toEqual([]);

    // The reset enables it; a success after failures sets the count back to 0.
    expect((await api("POST", `/repository/pia/app/notification/${uuid}`, { token: pia })).status).toBe(204);
    const again = await pushAndSpawn("v5");
    expect(again).toHaveLength(1);
    vi.restoreAllMocks();
    receiver(500);
    await consumeDeliveries(again);
    expect(await failures(uuid)).toBe(1);
    vi.restoreAllMocks();
    const ok = receiver(200);
    await consumeDeliveries(again, 2);
    expect(ok).toHaveLength(1);
    expect(await failures(uuid)).toBe(0);
    await api("DELETE", `/repository/pia/app/notification/${uuid}`, { token: pia });
  });

  it("counts what the outbound guard refuses as a failure, never fetching it", async () => {
    const uuid = await notification({ config: { url: "http://10.0.0.7/hook" } });
    const queued = await pushAndSpawn("v6");
    const received = receiver(200);
    await consumeDeliveries(queued);
    expect(received).toEqual([]);
    expect(await failures(uuid)).toBe(1);
    await api("DELETE", `/repository/pia/app/notification/${uuid}`, { token: pia });
  });

  it("queues nothing for a repository without notifications", async () => {
    expect(await pushAndSpawn("v7")).toEqual([]);
  });
});
