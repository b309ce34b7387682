/**
 * What a quota crossing produces (issue #16; Quay `data/model/namespacequota.py`
 * notify_organization_admins and maybe_trigger_quota_notification, `notifications/__init__.py`
 * spawn_namespace_notification): a `quota_warning` or `quota_error` event, as quota-enforce emits
 * it, handed to the EVENTS consumer, leaves an in-app notification of its kind for each
 * administrator of the namespace, mails them, and (FEATURE_QUOTA_NOTIFICATIONS) queues Quay's
 * namespace event data to the namespace's notifications of that event, delivered by the one
 * NOTIFICATIONS consumer: failures counted, disabled at the third, as repository notifications.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { namespaceNotifications, userNotifications } from "../../../src/db/schema";
import { newEvent, type RegistryEvent } from "../../../src/events/catalogue";
import { deliver } from "../../../src/notifications/delivery";
import { formatBytes } from "../../../src/notifications/namespace-events";
import { notifyQuotaCrossing } from "../../../src/notifications/namespace-spawn";
import { consume } from "../helpers/action-logs";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { mailFiles, mailingEnv, mailsSince, recordMailJobs, requestWith } from "../helpers/mailbox";
import { consumeDeliveries, receiver, recordDeliveries } from "../helpers/notifications";

/** Mailing and namespace notifications on. */
const flagged = mailingEnv({ FEATURE_QUOTA_NOTIFICATIONS: "true" });
const call = (method: string, path: string, token: string, body?: unknown) =>
  requestWith(flagged, method, `/api/v1${path}`, { token, body });

const HOOK = "https://hooks.example.com/quota";
const ORG_HOOKS = "/organization/storeorg/notifications";
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["sal", "sue", "sam", "solo"]) {
    await makeUser(admin, name);
    tokens[name] = await tokenFor(name);
  }
  // sal creates the organization (its owners team); sue is in an admin team; sam is a member only.
  expect((await api("POST", "/organization", { token: tokens.sal, body: { name: "storeorg" } })).status).toBe(201);
  await joinTeam("storeorg", "leads", "admin", "sue");
  await joinTeam("storeorg", "devs", "member", "sam");
});

afterEach(async () => {
  vi.restoreAllMocks();
  await db().delete(namespaceNotifications);
  await db().delete(userNotifications);
});

const crossing = (
  kind: "quota_warning" | "quota_error",
  namespace: string,
  usageBytes: number,
  thresholdPercent = 80,
) =>
  newEvent(
    kind,
    { namespace, repository: null },
    { actor: { kind: "anonymous" }, ip: null },
    { quotaId: 1, limitId: 2, thresholdPercent, usageBytes, limitBytes: 1073741824 },
  ) as RegistryEvent;

async function hook(body: Record<string, unknown> = {}, path = ORG_HOOKS, token = tokens.sal!) {
  const res = await call("POST", path, token, {
    event: "quota_warning",
    method: "webhook",
    config: { url: HOOK },
    eventConfig: {},
    ...body,
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.uuid as string;
}

/** The in-app notifications `name` sees. */
const inApp = async (name: string) => (await call("GET", "/user/notifications", tokens[name]!)).json.notifications;

describe("a quota_warning crossing", () => {
  it("delivers Quay's namespace event data, leaves in-app notifications for each admin, and mails them", async () => {
    const uuid = await hook();
    const before = await mailFiles();
    const mails = recordMailJobs();
    const queued = recordDeliveries();
    await consume([crossing("quota_warning", "storeorg", 900_000_000)], flagged);

    // The delivery, through the queue and the outbound guard.
    expect(queued).toMatchObject([{ notification: uuid, scope: "namespace", event: "quota_warning" }]);
    const received = receiver(204);
    const result = await consumeDeliveries(queued);
    expect(result.explicitAcks).toEqual(["delivery-0"]);
    // Quay notifications/__init__.py build_namespace_event_data (namespace, homepage) with the
    // crossing's fields (namespacequota.py maybe_trigger_quota_notification: threshold_percent,
    // usage_bytes, limit_bytes, usage_percent) and the sizes written out as its sample data has them.
    expect(received.map((r) => [r.url, r.body])).toEqual([
      [
        HOOK,
        {
          namespace: "storeorg",
          homepage: "http://registry.test/organization/storeorg",
          threshold_percent: 80,
          usage_bytes: 900_000_000,
          limit_bytes: 1073741824,
          usage_percent: 83,
          usage_bytes_formatted: "858.31 MB",
          limit_bytes_formatted: "1.00 GB",
        },
      ],
    ]);

    // In-app: Quay's kind, for each admin of the organization (sal, sue), not for a member (sam).
    for (const name of ["sal", "sue"]) {
      const [note, ...rest] = await inApp(name);
      expect(rest).toEqual([]);
      expect(note).toMatchObject({
        kind: "quota_warning",
        // Quay notify_organization_admins: one notification per admin, its target the admin.
        organization: null,
        dismissed: false,
        metadata: { namespace: "storeorg", threshold_percent: 80, usage_bytes: 900_000_000, usage_percent: 83 },
      });
    }
    expect(await inApp("sam")).toEqual([]);

    // The mail, to each admin, with Quay's summary as the subject.
    await mails.deliver(flagged);
    const sent = await mailsSince(before);
    expect(sent.map((m) => m.headers.to).sort()).toEqual(["sal@example.com", "sue@example.com"]);
    for (const mail of sent) {
      expect(mail.headers.subject).toBe("[Wharf] Namespace storeorg storage usage has reached 80% of its quota limit");
      expect(mail.text).toContain("Usage: 858.31 MB of 1.00 GB (83%)");
      expect(mail.text).toContain("Pushes still succeed");
    }
  });

  it("notifies once per crossing: the same event handed again writes and mails nothing more", async () => {
    const before = await mailFiles();
    const mails = recordMailJobs();
    const event = crossing("quota_warning", "storeorg", 900_000_000);
    await notifyQuotaCrossing(flagged, event);
    await notifyQuotaCrossing(flagged, event);
    await mails.deliver(flagged);
    expect(await mailsSince(before)).toHaveLength(2);
    expect(await inApp("sal")).toHaveLength(1);
    // A later crossing is another notice.
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 950_000_000, 90));
    expect(await inApp("sal")).toHaveLength(2);
  });

  it("counts failed deliveries, disables the notification at the third, and the reset enables it again", async () => {
    const uuid = await hook();
    const failures = async () => (await call("GET", `${ORG_HOOKS}/${uuid}`, tokens.sal!)).json.number_of_failures;
    let queued = recordDeliveries();
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 900_000_000));
    const received = receiver(500);
    expect((await consumeDeliveries(queued, 1)).retryMessages).toEqual([{ msgId: "delivery-0" }]);
    expect(await failures()).toBe(1);
    await consumeDeliveries(queued, 2);
    expect(await failures()).toBe(2);
    const third = await consumeDeliveries(queued, 3);
    expect(third.retryMessages).toEqual([]);
    expect(await failures()).toBe(3);
    expect(received).toHaveLength(3);
    // Disabled: a queued delivery is dropped unsent, and a crossing queues none.
    await consumeDeliveries(queued, 4);
    expect(received).toHaveLength(3);
    queued = recordDeliveries();
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 900_000_000));
    expect(queued).toEqual([]);
    // The reset enables it; a success sets the count back to 0.
    expect((await call("POST", `${ORG_HOOKS}/${uuid}`, tokens.sal!)).status).toBe(204);
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 900_000_000));
    expect(queued).toHaveLength(1);
    vi.mocked(globalThis.fetch).mockRestore();
    receiver(500);
    await consumeDeliveries(queued);
    expect(await failures()).toBe(1);
    vi.mocked(globalThis.fetch).mockRestore();
    const ok = receiver(200);
    await consumeDeliveries(queued, 2);
    expect(ok).toHaveLength(1);
    expect(await failures()).toBe(0);
  });

  it("queues only the notifications of that event, and none with FEATURE_QUOTA_NOTIFICATIONS off", async () => {
    await hook({ event: "quota_error" });
    const warning = await hook();
    const queued = recordDeliveries();
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 900_000_000));
    expect(queued.map((d) => d.notification)).toEqual([warning]);
    queued.length = 0;
    // Off: the in-app notice and the mail still come (Quay's notify_organization_admins is not
    // behind the flag); the namespace notifications are not delivered.
    await notifyQuotaCrossing(mailingEnv(), crossing("quota_warning", "storeorg", 950_000_000, 90));
    expect(queued).toEqual([]);
    expect(await inApp("sue")).toHaveLength(2);
  });
});

describe("a quota_error crossing", () => {
  it("of a user's namespace notifies the user, in-app and by mail, with Quay's error summary", async () => {
    const uuid = await hook({ event: "quota_error" }, "/user/namespacenotifications", tokens.solo);
    const before = await mailFiles();
    const mails = recordMailJobs();
    const queued = recordDeliveries();
    // 105% of the quota, rounded down as Quay's int() does.
    await consume([crossing("quota_error", "solo", 1127428916, 100)], flagged);
    expect(queued).toMatchObject([
      {
        notification: uuid,
        scope: "namespace",
        event: "quota_error",
        payload: { namespace: "solo", usage_percent: 105 },
      },
    ]);
    const [note] = await inApp("solo");
    expect(note).toMatchObject({ kind: "quota_error", organization: null, metadata: { namespace: "solo" } });
    await mails.deliver(flagged);
    const [mail, ...more] = await mailsSince(before);
    expect(more).toEqual([]);
    expect(mail!.headers.to).toBe("solo@example.com");
    expect(mail!.headers.subject).toBe("[Wharf] Namespace solo storage usage has exceeded its quota limit (105%)");
    expect(mail!.text).toContain("Pushes that add data to the namespace are refused");
  });

  it("mails nothing without FEATURE_MAILING, and nobody for a namespace that is gone", async () => {
    const mails = recordMailJobs();
    await notifyQuotaCrossing(env, crossing("quota_error", "solo", 1127428915, 100));
    await notifyQuotaCrossing(flagged, crossing("quota_error", "no-such-namespace", 1127428915, 100));
    expect(mails.jobs).toEqual([]);
    expect(await inApp("solo")).toHaveLength(1);
  });
});

describe("the other methods of a namespace notification", () => {
  it("Slack gets Quay's summary, in-app goes to the target, email to the namespace's admins", async () => {
    await hook({ method: "slack", config: { url: "https://hooks.slack.example/T/B/x" } });
    await hook({ method: "quay_notification", config: { target: { kind: "team", name: "devs" } } });
    await hook({ method: "email", config: {} });
    const queued = recordDeliveries();
    const before = await mailFiles();
    const mails = recordMailJobs();
    await notifyQuotaCrossing(flagged, crossing("quota_warning", "storeorg", 900_000_000));
    expect(queued).toHaveLength(3);
    const received = receiver(200);
    for (const delivery of queued) expect(await deliver(flagged, delivery)).toBe("delivered");

    const summary = "Namespace storeorg storage usage has reached 80% of its quota limit";
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toMatchObject({
      text: summary,
      attachments: [{ color: "warning", text: `<http://registry.test/organization/storeorg|storeorg>: ${summary}` }],
    });
    // The team's member (sam) gets the in-app notification of the event.
    expect(await inApp("sam")).toMatchObject([{ kind: "quota_warning", metadata: { namespace: "storeorg" } }]);
    await mails.deliver(flagged);
    const sent = await mailsSince(before);
    // The crossing's own mails (two admins) and the email notification's (two admins), each with Quay's summary.
    expect(sent.map((m) => m.headers.to).sort()).toEqual([
      "sal@example.com",
      "sal@example.com",
      "sue@example.com",
      "sue@example.com",
    ]);
    expect(sent.filter((m) => m.headers.subject === summary)).toHaveLength(2);
  });
});

describe("formatBytes", () => {
  it("writes sizes as Quay's sample data does", () => {
    expect(formatBytes(858993459)).toBe("819.20 MB");
    expect(formatBytes(1073741824)).toBe("1.00 GB");
    expect(formatBytes(1127428915)).toBe("1.05 GB");
    expect(formatBytes(512)).toBe("512 bytes");
  });
});
