/**
 * Namespace notifications' API (Quay `endpoints/api/namespacenotification.py`): the twelve
 * operations of an organization (`/organization/{orgname}/notifications`) and of the signed-in
 * user (`/user/namespacenotifications`), with Quay's JSON, refusals and log kinds, the config sealed
 * at rest, and FEATURE_QUOTA_NOTIFICATIONS (off by default, as Quay) hiding them all.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { namespaceNotifications } from "../../../src/db/schema";
import { consume, entryOf } from "../helpers/action-logs";
import { db, joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { requestWith } from "../helpers/mailbox";
import { recordDeliveries } from "../helpers/notifications";

/** The Worker's environment with FEATURE_QUOTA_NOTIFICATIONS on. */
const flagged = { ...env, FEATURE_QUOTA_NOTIFICATIONS: "true" } as unknown as Env;
const call = (method: string, path: string, token?: string, body?: unknown) =>
  requestWith(flagged, method, `/api/v1${path}`, { token, body });

const ORG = "/organization/quotas/notifications";
const USER = "/user/namespacenotifications";
const HOOK = "https://hooks.example.com/quota?token=s3cret";
const webhook = (extra: Record<string, unknown> = {}) => ({
  event: "quota_warning",
  method: "webhook",
  config: { url: HOOK },
  eventConfig: {},
  ...extra,
});

let admin: string;
let olive: string;
let milo: string;
let ivy: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olive", "milo", "ivy"]) await makeUser(admin, name);
  olive = await tokenFor("olive");
  milo = await tokenFor("milo");
  ivy = await tokenFor("ivy");
  expect((await api("POST", "/organization", { token: olive, body: { name: "quotas" } })).status).toBe(201);
  expect((await api("POST", "/organization", { token: ivy, body: { name: "elsewhere" } })).status).toBe(201);
  // milo is a member of quotas, not an admin.
  await joinTeam("quotas", "devs", "member", "milo");
});

afterEach(async () => {
  vi.restoreAllMocks();
  await db().delete(namespaceNotifications);
});

describe("organization namespace notifications", () => {
  it("creates, lists, gets, resets and deletes with Quay's JSON and log kinds", async () => {
    const events = recordEvents();
    const created = await call("POST", ORG, olive, webhook({ title: "Ops" }));
    expect(created.status).toBe(201);
    // Quay namespacenotification.py _notification_view: uuid, title, event, method, config,
    // event_config, number_of_failures.
    expect(created.json).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: "Ops",
      event: "quota_warning",
      method: "webhook",
      config: { url: HOOK },
      event_config: {},
      number_of_failures: 0,
    });
    const uuid = created.json.uuid;
    const [made] = await events.published("create_namespace_notification");
    expect(made).toMatchObject({
      namespace: "quotas",
      repository: null,
      data: { notification: { uuid, event: "quota_warning", method: "webhook" } },
    });
    expect(JSON.stringify(made)).not.toContain("s3cret");
    // Sealed at rest: the webhook's token is not in the row.
    const row = await db().select().from(namespaceNotifications).where(eq(namespaceNotifications.uuid, uuid)).get();
    expect(row!.sealedConfig).not.toContain("s3cret");

    expect((await call("GET", `${ORG}/${uuid}`, olive)).json).toEqual(created.json);
    expect((await call("GET", ORG, olive)).json).toEqual({ notifications: [created.json] });

    await db().update(namespaceNotifications).set({ numberOfFailures: 3 }).where(eq(namespaceNotifications.uuid, uuid));
    const reset = await call("POST", `${ORG}/${uuid}`, olive);
    expect(reset.status).toBe(204);
    expect((await call("GET", `${ORG}/${uuid}`, olive)).json.number_of_failures).toBe(0);

    const deleted = await call("DELETE", `${ORG}/${uuid}`, olive);
    expect(deleted.status).toBe(204);
    expect((await call("GET", ORG, olive)).json).toEqual({ notifications: [] });
    expectQuayError(await call("GET", `${ORG}/${uuid}`, olive), 404, "not_found");

    // Quay's log kinds, in the organization's logs, with Quay's metadata.
    await consume(await events.published());
    const expected = { namespace: "quotas", notification_id: uuid, event: "quota_warning", method: "webhook" };
    for (const kind of [
      "create_namespace_notification",
      "reset_namespace_notification",
      "delete_namespace_notification",
    ]) {
      const entry = await entryOf(olive, "/organization/quotas/logs", kind);
      expect(entry.metadata, kind).toEqual(expected);
      expect(entry.performer?.name, kind).toBe("olive");
    }
  });

  it("refuses unknown events and methods and invalid method configs with Quay's messages, creating nothing", async () => {
    const events = recordEvents();
    const refusals: Array<[unknown, string | RegExp]> = [
      [webhook({ event: "repo_push" }), "Invalid event 'repo_push'. Must be one of: quota_error, quota_warning"],
      [webhook({ method: "carrier_pigeon" }), "Unknown notification method 'carrier_pigeon'"],
      [webhook({ config: {} }), "Missing webhook URL"],
      [webhook({ config: { url: "ftp://hooks.example.com/" } }), "Invalid webhook URL"],
      [webhook({ config: { url: "http://localhost:9000/" } }), "Invalid webhook URL"],
      [webhook({ config: { url: HOOK, template: "{not json" } }), /^Could not parse template/],
      [webhook({ method: "slack", config: {} }), "Missing Slack Callback URL"],
      [webhook({ method: "quay_notification", config: {} }), "Missing target"],
      [
        webhook({ method: "quay_notification", config: { target: { kind: "org", name: "elsewhere" } } }),
        "Organization name must match repository namespace",
      ],
      [
        webhook({ method: "quay_notification", config: { target: { kind: "team", name: "nope" } } }),
        "Unknown team nope",
      ],
      [webhook({ method: "flowdock", config: {} }), "Missing Flowdock API Token"],
    ];
    for (const [body, message] of refusals)
      expectQuayError(await call("POST", ORG, olive, body), 400, "invalid_request", message);
    // Quay's schema: event, method, config and eventConfig are required, and objects.
    for (const body of [
      { event: "quota_warning", method: "webhook", config: { url: HOOK } },
      { ...webhook(), config: "https://hooks.example.com/" },
      { ...webhook(), title: 7 },
      [],
      "not json",
    ])
      expectQuayError(await call("POST", ORG, olive, body), 400, "invalid_request");
    expect((await call("GET", ORG, olive)).json).toEqual({ notifications: [] });
    expect(await events.published()).toEqual([]);
  });

  it("accepts Quay's other methods for a namespace: in-app to the organization or a team, email, Slack", async () => {
    const accepted = [
      webhook({
        event: "quota_error",
        method: "quay_notification",
        config: { target: { kind: "org", name: "quotas" } },
      }),
      webhook({ method: "quay_notification", config: { target: { kind: "team", name: "devs" } } }),
      webhook({ method: "quay_notification", config: { target: { kind: "user", name: "milo" } } }),
      // A namespace's mail goes to its administrators: no address to authorize (Quay's namespace EmailMethod).
      webhook({ method: "email", config: {} }),
      webhook({ method: "slack", config: { url: "https://hooks.slack.example/T/B/x" } }),
    ];
    for (const body of accepted) expect((await call("POST", ORG, olive, body)).status, JSON.stringify(body)).toBe(201);
    expect((await call("GET", ORG, olive)).json.notifications).toHaveLength(accepted.length);
  });

  it("is 404 for a uuid that is not the organization's, on every operation", async () => {
    const theirs = (await call("POST", "/organization/elsewhere/notifications", ivy, webhook())).json.uuid;
    for (const uuid of [theirs, "no-such-uuid", crypto.randomUUID()]) {
      expectQuayError(await call("GET", `${ORG}/${uuid}`, olive), 404, "not_found");
      expectQuayError(await call("DELETE", `${ORG}/${uuid}`, olive), 404, "not_found");
      expectQuayError(await call("POST", `${ORG}/${uuid}`, olive), 404, "not_found");
      expectQuayError(await call("POST", `${ORG}/${uuid}/test`, olive), 404, "not_found");
    }
    expect((await call("GET", "/organization/elsewhere/notifications", ivy)).json.notifications).toHaveLength(1);
  });

  it("refuses members who are not admins (403), anonymous callers (401) and tokens without org:admin (403)", async () => {
    const uuid = (await call("POST", ORG, olive, webhook())).json.uuid;
    const scoped = await tokenFor("olive", ["repo:admin", "user:admin"]);
    for (const [method, path] of [
      ["GET", ORG],
      ["POST", ORG],
      ["GET", `${ORG}/${uuid}`],
      ["DELETE", `${ORG}/${uuid}`],
      ["POST", `${ORG}/${uuid}`],
      ["POST", `${ORG}/${uuid}/test`],
    ] as const) {
      const body = method === "POST" && path === ORG ? webhook() : undefined;
      expectQuayError(await call(method, path, milo, body), 403, "insufficient_scope");
      expectQuayError(await call(method, path, scoped, body), 403, "insufficient_scope");
      expect((await call(method, path, undefined, body)).status).toBe(401);
      // An organization that does not exist answers the same.
      expectQuayError(await call(method, path.replace("quotas", "no-such-org"), milo, body), 403, "insufficient_scope");
    }
    expect((await call("GET", `${ORG}/${uuid}`, olive)).json.number_of_failures).toBe(0);
  });

  it("queues Quay's sample data for a test, as a namespace delivery", async () => {
    const uuid = (await call("POST", ORG, olive, webhook({ event: "quota_error" }))).json.uuid;
    const queued = recordDeliveries();
    const tested = await call("POST", `${ORG}/${uuid}/test`, olive);
    expect(tested.status).toBe(200);
    expect(tested.json).toEqual({});
    // Quay notificationevent.py QuotaErrorEvent.get_sample_data with build_namespace_event_data.
    expect(queued).toEqual([
      {
        id: expect.any(String),
        notification: uuid,
        scope: "namespace",
        event: "quota_error",
        payload: {
          namespace: "quotas",
          homepage: "http://registry.test/organization/quotas",
          threshold_percent: 100,
          usage_bytes: 1127428915,
          limit_bytes: 1073741824,
          usage_percent: 105,
          usage_bytes_formatted: "1.05 GB",
          limit_bytes_formatted: "1.00 GB",
        },
      },
    ]);
  });
});

describe("the user's namespace notifications", () => {
  it("serves the six operations on the caller's own namespace", async () => {
    const created = await call("POST", USER, milo, webhook({ event: "quota_error" }));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ event: "quota_error", method: "webhook", title: null, number_of_failures: 0 });
    const uuid = created.json.uuid;
    expect((await call("GET", USER, milo)).json).toEqual({ notifications: [created.json] });
    expect((await call("GET", `${USER}/${uuid}`, milo)).json).toEqual(created.json);
    const queued = recordDeliveries();
    expect((await call("POST", `${USER}/${uuid}/test`, milo)).json).toEqual({});
    expect(queued[0]).toMatchObject({ notification: uuid, scope: "namespace", payload: { namespace: "milo" } });
    expect((await call("POST", `${USER}/${uuid}`, milo)).status).toBe(204);
    // Another user's notification is not theirs: 404.
    expectQuayError(await call("GET", `${USER}/${uuid}`, ivy), 404, "not_found");
    expectQuayError(await call("DELETE", `${USER}/${uuid}`, ivy), 404, "not_found");
    expect((await call("GET", USER, ivy)).json).toEqual({ notifications: [] });
    expect((await call("DELETE", `${USER}/${uuid}`, milo)).status).toBe(204);
    expect((await call("GET", USER, milo)).json).toEqual({ notifications: [] });
  });

  it("needs user:admin and a signed-in user", async () => {
    expect((await call("GET", USER)).status).toBe(401);
    expectQuayError(await call("GET", USER, await tokenFor("milo", ["repo:read"])), 403, "insufficient_scope");
    expectQuayError(
      await call("POST", USER, milo, webhook({ event: "nope" })),
      400,
      "invalid_request",
      /^Invalid event 'nope'/,
    );
  });
});

describe("FEATURE_QUOTA_NOTIFICATIONS", () => {
  it("is off by default, as Quay, and then every operation is 404, to everyone", async () => {
    for (const [method, path] of [
      ["GET", ORG],
      ["POST", ORG],
      ["GET", `${ORG}/x`],
      ["DELETE", `${ORG}/x`],
      ["POST", `${ORG}/x`],
      ["POST", `${ORG}/x/test`],
      ["GET", USER],
      ["POST", USER],
      ["GET", `${USER}/x`],
      ["DELETE", `${USER}/x`],
      ["POST", `${USER}/x`],
      ["POST", `${USER}/x/test`],
    ] as const) {
      for (const token of [olive, milo, admin, undefined])
        expectQuayError(
          await api(method, path, { token, body: method === "POST" ? webhook() : undefined }),
          404,
          "not_found",
        );
    }
    expect(await db().select().from(namespaceNotifications).all()).toEqual([]);
  });
});

describe("hostile inputs", () => {
  const LONG = "a".repeat(5_000);
  const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", LONG, "-", "not-a-uuid"];
  const decoded = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  /** [method, path with `*` where each odd value goes, body with `*` likewise]. */
  const ROUTES: Array<[string, string, unknown?]> = [
    ["GET", `${ORG}/*`],
    ["DELETE", `${ORG}/*`],
    ["POST", `${ORG}/*`],
    ["POST", `${ORG}/*/test`],
    ["GET", "/organization/*/notifications"],
    [
      "POST",
      "/organization/*/notifications",
      { event: "quota_warning", method: "webhook", config: {}, eventConfig: {} },
    ],
    ["POST", ORG, { event: "*", method: "webhook", config: { url: "*" }, eventConfig: {} }],
    ["POST", ORG, { event: "quota_error", method: "*", config: "*", eventConfig: "*" }],
    ["POST", ORG, { event: "quota_error", method: "webhook", config: { url: "*", template: "*" }, eventConfig: {} }],
    ["POST", ORG, { event: "quota_error", method: "slack", config: { url: ["*"] }, eventConfig: { days: "*" } }],
    [
      "POST",
      ORG,
      {
        event: "quota_error",
        method: "quay_notification",
        config: { target: { kind: "*", name: "*" } },
        eventConfig: {},
      },
    ],
    ["POST", ORG, { event: "quota_error", method: "email", config: { email: ["*"] }, eventConfig: {}, title: "*" }],
    ["GET", `${USER}/*`],
    ["DELETE", `${USER}/*`],
    ["POST", `${USER}/*`],
    ["POST", `${USER}/*/test`],
    ["POST", USER, { event: ["*"], method: null, config: [], eventConfig: null }],
  ];
  const fill = (body: unknown, value: string): unknown => {
    if (typeof body === "string") return body.replaceAll("*", value);
    if (Array.isArray(body)) return body.map((item) => fill(item, value));
    if (body && typeof body === "object")
      return Object.fromEntries(Object.entries(body).map(([key, item]) => [key, fill(item, value)]));
    return body;
  };

  for (const [who, token] of [
    ["the organization's admin", () => olive],
    ["a superuser", () => admin],
    ["no one", () => undefined],
  ] as const) {
    it(`answer ${who} Quay's error JSON or a success, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of ROUTES) {
        for (const value of ODD) {
          const path = template.replaceAll("*", value);
          const res = await call(method, path, token(), fill(body, decoded(value)));
          const quayShaped =
            res.status < 400 || (typeof res.json === "object" && res.json !== null && "error_type" in res.json);
          if (res.status >= 500 || !quayShaped)
            failures.push(`${method} ${path.slice(0, 120)} → ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
