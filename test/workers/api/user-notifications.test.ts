/**
 * In-app notifications (Quay's `quay_notification` method and `/api/v1/user/notifications`): a
 * delivery leaves one for the target user, each member of a target team or each admin of the
 * target organization; each user lists theirs (newest first, dismissed left out), reads one and
 * dismisses it. A retried delivery writes nothing twice.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { joinTeam, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { consumeDeliveries, recordDeliveries } from "../helpers/notifications";

let admin: string;
let owner: string;
let tina: string;
let ugo: string;

/** Quay's `format_date`: RFC 2822 in UTC. */
const QUAY_DATE = /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/;

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["bellowner", "tina", "ugo"]) await makeUser(admin, name);
  owner = await tokenFor("bellowner");
  tina = await tokenFor("tina");
  ugo = await tokenFor("ugo");
  expect((await api("POST", "/organization/", { token: owner, body: { name: "bells" } })).status).toBe(201);
  expect(
    (
      await api("POST", "/repository", {
        token: owner,
        body: { namespace: "bells", repository: "app", visibility: "private", description: "" },
      })
    ).status,
  ).toBe(201);
  await joinTeam("bells", "ringers", "member", "tina");
  await joinTeam("bells", "ringers", "member", "ugo");
});

afterEach(() => vi.restoreAllMocks());

/** Creates an in-app notification for `target` and runs its test delivery; the delivery. */
async function delivered(target: { kind: string; name: string }) {
  const created = await api("POST", "/repository/bells/app/notification/", {
    token: owner,
    body: { event: "repo_push", method: "quay_notification", config: { target }, eventConfig: {} },
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const queued = recordDeliveries();
  await api("POST", `/repository/bells/app/notification/${created.json.uuid}/test`, { token: owner });
  expect(queued).toHaveLength(1);
  expect((await consumeDeliveries(queued)).explicitAcks).toEqual(["delivery-0"]);
  return queued;
}

const list = (token: string, query = "") => api("GET", `/user/notifications${query}`, { token });

describe("in-app notifications", () => {
  it("reach a target user, once however often the delivery runs, with Quay's JSON", async () => {
    const queued = await delivered({ kind: "user", name: "tina" });
    await consumeDeliveries(queued, 2);
    const mine = await list(tina);
    expect(mine.status).toBe(200);
    expect(mine.json).toEqual({
      notifications: [
        {
          id: expect.any(String),
          organization: null,
          kind: "repo_push",
          created: expect.stringMatching(QUAY_DATE),
          metadata: expect.objectContaining({ repository: "bells/app", updated_tags: ["latest", "foo"] }),
          dismissed: false,
        },
      ],
      additional: false,
    });
    const id = mine.json.notifications[0].id;
    expect((await api("GET", `/user/notifications/${id}`, { token: tina })).json).toEqual(mine.json.notifications[0]);
    // Someone else's is not found.
    expectQuayError(await api("GET", `/user/notifications/${id}`, { token: ugo }), 404, "not_found");
    expectQuayError(
      await api("PUT", `/user/notifications/${id}`, { token: ugo, body: { dismissed: true } }),
      404,
      "not_found",
    );

    const dismissed = await api("PUT", `/user/notifications/${id}`, { token: tina, body: { dismissed: true } });
    expect(dismissed.json).toMatchObject({ id, dismissed: true });
    expect((await list(tina)).json).toEqual({ notifications: [], additional: false });
    expect((await api("GET", `/user/notifications/${id}`, { token: tina })).json.dismissed).toBe(true);
  });

  it("reach each member of a target team and each admin of the target organization, and page", async () => {
    await delivered({ kind: "team", name: "ringers" });
    expect((await list(ugo)).json.notifications).toHaveLength(1);
    await delivered({ kind: "org", name: "bells" });
    const owned = await list(owner);
    expect(owned.json.notifications.map((n: any) => n.organization)).toEqual(["bells"]);
    expect((await list(ugo)).json.notifications).toHaveLength(1);

    await delivered({ kind: "team", name: "ringers" });
    const first = await list(ugo, "?limit=1");
    expect(first.json.additional).toBe(true);
    const second = await list(ugo, "?limit=1&page=1");
    expect(second.json.additional).toBe(false);
    expect(second.json.notifications[0].id).not.toBe(first.json.notifications[0].id);
  });

  it("refuses targets Quay refuses", async () => {
    for (const [target, message] of [
      [{ kind: "org", name: "otherorg" }, "Organization name must match repository namespace"],
      [{ kind: "team", name: "nobody" }, "Unknown team nobody"],
      [{ kind: "user", name: "bells" }, "Unknown user bells"],
    ] as const) {
      const res = await api("POST", "/repository/bells/app/notification/", {
        token: owner,
        body: { event: "repo_push", method: "quay_notification", config: { target }, eventConfig: {} },
      });
      expectQuayError(res, 400, "invalid_request", message);
    }
  });
});
