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
import { deliver, retryDelaySeconds } from "../../../src/notifications/delivery";
import { flushMetrics, metricsObject } from "../../../src/metrics/recorder";
import { webhookUrlProblem } from "../../../src/notifications/methods";
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
  it("counts a failed delivery in the metrics, by method", async () => {
    const key = 'wharf_notification_delivery_failures_total{method="webhook"}';
    const counted = async () => {
      await flushMetrics(env);
      return (await metricsObject(env).read()).counters.find((s) => s.key === key)?.value ?? 0;
    };
    const uuid = await notification({});
    const queued = await pushAndSpawn("metered");
    const before = await counted();
    vi.spyOn(console, "error").mockImplementation(() => {});
    receiver(500);
    await consumeDeliveries(queued, 1);
    expect(await counted()).toBe(before + 1);
    await api("DELETE", `/repository/pia/app/notification/${uuid}`, { token: pia });
  });

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

describe("slack delivery", () => {
  it("POSTs an incoming-webhook message with Quay's summary and colour", async () => {
    const slack = "https://hooks.slack.example/services/T0/B0/secret";
    await notification({ method: "slack", config: { url: slack } });
    const queued = await pushAndSpawn("s1");
    const received = receiver(200);
    await consumeDeliveries(queued);
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe(slack);
    expect(received[0]!.body).toEqual({
      text: "Repository pia/app updated",
      username: "wharf",
      attachments: [
        {
          fallback: "Repository pia/app updated",
          text: "<http://registry.test/repository/pia/app|pia/app>: Repository pia/app updated",
          color: "good",
          mrkdwn_in: ["text"],
        },
      ],
    });
  });
});

describe("the limits of a delivery", () => {
  it("gives up after NOTIFICATION_SEND_TIMEOUT and counts it as a failure", async () => {
    const uuid = await notification({});
    const queued = await pushAndSpawn("t1");
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))),
    );
    const started = Date.now();
    const outcome = await deliver({ ...env, NOTIFICATION_SEND_TIMEOUT: "0.2" } as unknown as Env, queued[0]!);
    expect(outcome).toBe("failed");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await failures(uuid)).toBe(1);
  });

  it("refuses WEBHOOK_HOSTNAME_BLACKLIST hosts, and always localhost and 127.0.0.1, as Quay", () => {
    const config = { WEBHOOK_HOSTNAME_BLACKLIST: ["internal.example.com"] };
    for (const url of ["http://internal.example.com/x", "http://LOCALHOST:80/", "https://127.0.0.1/", "file:///etc"])
      expect(webhookUrlProblem(config, url), url).toBe("Invalid webhook URL");
    expect(webhookUrlProblem(config, "https://hooks.example.com/x")).toBeNull();
  });
});

describe("the NOTIFICATIONS consumer", () => {
  it("drops malformed messages and deliveries of deleted notifications, and retries what it cannot run", async () => {
    const malformed = await consumeDeliveries([{ not: "a delivery" }]);
    expect(malformed.explicitAcks).toEqual(["delivery-0"]);
    const gone = { id: crypto.randomUUID(), notification: crypto.randomUUID(), event: "repo_push", payload: {} };
    expect((await consumeDeliveries([gone])).explicitAcks).toEqual(["delivery-0"]);
    // D1 failing: the queue retries it (and keeps it in the dead-letter queue after max_retries).
    vi.spyOn(env.DB, "prepare").mockImplementation(() => {
      throw new Error("D1 is down");
    });
    const failed = await consumeDeliveries([gone]);
    expect(failed.retryMessages).toEqual([{ msgId: "delivery-0" }]);
    expect(failed.explicitAcks).toEqual([]);
  });
});
