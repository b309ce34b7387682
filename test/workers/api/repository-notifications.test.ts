/**
 * Repository notifications' API (Quay `endpoints/api/repositorynotification.py`): create, list,
 * get, delete, reset and test, with Quay's JSON, refusals and log kinds; the config sealed at rest.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { notificationExpiryNotices, repositoryNotifications } from "../../../src/db/schema";
import { purgeRepository } from "../../../src/registry/repository-deletion";
import { findRepository } from "../../../src/registry/repositories";
import { db, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { recordDeliveries } from "../helpers/notifications";

let admin: string;
let nora: string;
let walt: string;

const HOOK = "https://hooks.example.com/wharf?token=s3cret";
const base = (repo: string) => `/repository/${repo}/notification`;
const create = (repo: string, body: unknown, token = nora) => api("POST", `${base(repo)}/`, { token, body });
const webhook = (extra: Record<string, unknown> = {}) => ({
  event: "repo_push",
  method: "webhook",
  config: { url: HOOK },
  eventConfig: {},
  ...extra,
});

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "nora");
  await makeUser(admin, "walt");
  nora = await tokenFor("nora");
  walt = await tokenFor("walt");
  await pushTaggedAs("nora", "nora/app", "v1");
  // walt may write nora/app, not administer it.
  await api("PUT", "/repository/nora/app/permissions/user/walt", { token: nora, body: { role: "write" } });
});

afterEach(() => vi.restoreAllMocks());

describe("repository notifications", () => {
  it("creates, lists, gets and deletes with Quay's JSON and log kinds", async () => {
    const events = recordEvents();
    const created = await create("nora/app", webhook({ title: "CI" }));
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: "CI",
      event: "repo_push",
      method: "webhook",
      config: { url: HOOK },
      event_config: {},
      number_of_failures: 0,
    });
    const uuid = created.json.uuid;
    const [added] = await events.published("add_repo_notification");
    expect(added).toMatchObject({
      repository: { name: "nora/app" },
      actor: { kind: "token", name: "nora" },
      data: { notification: { uuid, event: "repo_push", method: "webhook" } },
    });
    expect(JSON.stringify(added)).not.toContain("s3cret");

    // Sealed at rest: the webhook's token is not in the row.
    const row = await db().select().from(repositoryNotifications).where(eq(repositoryNotifications.uuid, uuid)).get();
    expect(row!.sealedConfig).not.toContain("s3cret");

    expect((await api("GET", `${base("nora/app")}/${uuid}`, { token: nora })).json).toEqual(created.json);
    const listed = await api("GET", base("nora/app"), { token: nora });
    expect(listed.json).toEqual({ notifications: [created.json] });

    const deleting = recordEvents();
    const deleted = await api("DELETE", `${base("nora/app")}/${uuid}`, { token: nora });
    expect(deleted.status).toBe(204);
    expect(await deleting.published("delete_repo_notification")).toHaveLength(1);
    expect((await api("GET", base("nora/app"), { token: nora })).json).toEqual({ notifications: [] });
    expectQuayError(await api("GET", `${base("nora/app")}/${uuid}`, { token: nora }), 404, "not_found");
    expectQuayError(
      await api("DELETE", `${base("nora/app")}/${uuid}`, { token: nora }),
      400,
      "invalid_request",
      `No repository notification found for: nora, app, ${uuid}`,
    );
  });

  it("refuses unknown events and methods and invalid configs, as Quay, creating nothing", async () => {
    const events = recordEvents();
    const refusals: Array<[unknown, string | RegExp]> = [
      [webhook({ event: "repo_pull" }), "Unable to find event: repo_pull"],
      [webhook({ method: "carrier_pigeon" }), "Unable to find method: carrier_pigeon"],
      [webhook({ config: {} }), "Missing webhook URL"],
      [webhook({ config: { url: "ftp://hooks.example.com/" } }), "Invalid webhook URL"],
      [webhook({ config: { url: "not a url" } }), "Invalid webhook URL"],
      [webhook({ config: { url: "http://localhost:9000/" } }), "Invalid webhook URL"],
      [webhook({ config: { url: HOOK, template: "{not json" } }), /^Could not parse template/],
      [webhook({ config: { url: HOOK, template: `{"a": "$\{}"}` } }), /empty expression/],
      [webhook({ method: "slack", config: {} }), "Missing Slack Callback URL"],
      [webhook({ method: "quay_notification", config: {} }), "Missing target"],
      [
        webhook({ method: "quay_notification", config: { target: { kind: "user", name: "ghost" } } }),
        "Unknown user ghost",
      ],
      [webhook({ event: "repo_image_expiry" }), /needs eventConfig.days/],
      [webhook({ event: "build_success", eventConfig: { "ref-regex": "(a+)+" } }), /Invalid ref-regex/],
    ];
    for (const [body, message] of refusals) {
      expectQuayError(await create("nora/app", body), 400, "invalid_request", message);
    }
    // Quay's schema: event, method, config and eventConfig are required.
    expectQuayError(
      await create("nora/app", { event: "repo_push", method: "webhook", config: {} }),
      400,
      "invalid_request",
    );
    expect((await api("GET", base("nora/app"), { token: nora })).json).toEqual({ notifications: [] });
    expect(await events.published()).toEqual([]);
  });

  it("accepts the events that later issues fire and Quay's other methods' configs", async () => {
    const accepted = [
      webhook({ event: "repo_image_expiry", eventConfig: { days: "5" } }),
      webhook({ event: "vulnerability_found", eventConfig: { level: 3 } }),
      webhook({ event: "build_failure", eventConfig: { "ref-regex": "^refs/heads/main$" } }),
      webhook({ event: "repo_mirror_sync_failed" }),
      webhook({ method: "slack", config: { url: "https://hooks.slack.example/T/B/x" } }),
      webhook({ method: "quay_notification", config: { target: { kind: "user", name: "walt" } } }),
      webhook({ method: "flowdock", config: { flow_api_token: "t" } }),
      webhook({ method: "hipchat", config: { notification_token: "t", room_id: "1" } }),
    ];
    const uuids: string[] = [];
    for (const body of accepted) {
      const res = await create("nora/app", body);
      expect(res.status, JSON.stringify(body)).toBe(201);
      uuids.push(res.json.uuid);
    }
    for (const uuid of uuids) await api("DELETE", `${base("nora/app")}/${uuid}`, { token: nora });
  });

  it("resets failures and queues a test with the event's sample payload", async () => {
    const uuid = (await create("nora/app", webhook({ event: "repo_image_expiry", eventConfig: { days: 3 } }))).json
      .uuid;
    await db()
      .update(repositoryNotifications)
      .set({ numberOfFailures: 3 })
      .where(eq(repositoryNotifications.uuid, uuid));
    const events = recordEvents();
    const reset = await api("POST", `${base("nora/app")}/${uuid}`, { token: nora });
    expect(reset.status).toBe(204);
    expect((await events.published("reset_repo_notification"))[0]!.data.notification.uuid).toBe(uuid);
    expect((await api("GET", `${base("nora/app")}/${uuid}`, { token: nora })).json.number_of_failures).toBe(0);

    const queued = recordDeliveries();
    const tested = await api("POST", `${base("nora/app")}/${uuid}/test`, { token: nora });
    expect(tested.status).toBe(200);
    expect(tested.json).toEqual({});
    expect(queued).toEqual([
      {
        id: expect.any(String),
        notification: uuid,
        event: "repo_image_expiry",
        payload: {
          repository: "nora/app",
          namespace: "nora",
          name: "app",
          docker_url: "registry.test/nora/app",
          homepage: "http://registry.test/repository/nora/app",
          tags: ["latest", "v1"],
          expiring_in: "3 days",
        },
      },
    ]);
    const missing = crypto.randomUUID();
    for (const path of [`${base("nora/app")}/${missing}`, `${base("nora/app")}/${missing}/test`]) {
      expectQuayError(await api("POST", path, { token: nora }), 400, "invalid_request", /No repository notification/);
    }
    await api("DELETE", `${base("nora/app")}/${uuid}`, { token: nora });
  });

  it("is for the repository's admins only: 403 for writers and strangers, existing or not", async () => {
    const uuid = (await create("nora/app", webhook())).json.uuid;
    for (const [method, path] of [
      ["GET", base("nora/app")],
      ["POST", base("nora/app")],
      ["GET", `${base("nora/app")}/${uuid}`],
      ["DELETE", `${base("nora/app")}/${uuid}`],
      ["POST", `${base("nora/app")}/${uuid}`],
      ["POST", `${base("nora/app")}/${uuid}/test`],
      ["GET", base("nora/nothing")],
    ] as const) {
      expectQuayError(
        await api(method, path, { token: walt, body: method === "POST" ? webhook() : undefined }),
        403,
        "insufficient_scope",
      );
    }
    // A notification of another repository is not this one's.
    await pushTaggedAs("nora", "nora/other", "v1");
    expectQuayError(await api("GET", `${base("nora/other")}/${uuid}`, { token: nora }), 404, "not_found");
    expect(env.WHARF_SECRET_KEY).toBeTruthy();
  });

  it("go with their repository: the purge of a deleted repository removes them in bounded steps", async () => {
    await pushTaggedAs("nora", "nora/doomed", "v1");
    const repository = (await findRepository(db(), "nora/doomed"))!;
    const uuid = (await create("nora/doomed", webhook())).json.uuid;
    await db().insert(notificationExpiryNotices).values({ notificationUuid: uuid, tagName: "v1", lifetimeStartMs: 1 });
    expect((await api("DELETE", "/repository/nora/doomed", { token: nora })).status).toBe(204);
    expect(await purgeRepository(db(), repository.id)).toMatchObject({ done: true });
    expect(
      await db().select().from(repositoryNotifications).where(eq(repositoryNotifications.uuid, uuid)).all(),
    ).toEqual([]);
    expect(
      await db()
        .select()
        .from(notificationExpiryNotices)
        .where(eq(notificationExpiryNotices.notificationUuid, uuid))
        .all(),
    ).toEqual([]);
  });
});
