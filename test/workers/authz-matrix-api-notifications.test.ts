/**
 * The /api/v1 authorization matrix, repository notifications: every `…/notification` route against
 * every kind of caller (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/repositorynotification.py` (`require_repo_admin`): the repository's
 * admins with repo:admin; anyone else 403, whether or not the repository exists (401 without an
 * API credential). Each cell starts from one seeded notification of the private repository and
 * checks what the call did, or that it is untouched. The in-app notifications
 * (`/user/notifications`, Quay's `require_user_admin`) are every signed-in user's own, with
 * user:admin: each cell seeds one for the caller's account.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { repositoryNotifications, userNotifications } from "../../src/db/schema";
import { findRepository } from "../../src/registry/repositories";
import { createNotification, listNotifications } from "../../src/notifications/repository-notifications";
import { readConfig } from "../../src/config";
import type { Delivery } from "../../src/notifications/message";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { recordDeliveries } from "./helpers/notifications";
import {
  type Answer,
  account,
  CALLERS,
  type CallerKey,
  type Ctx,
  defineMatrix,
  PRIVATE,
  PUBLIC,
  REPO_ADMINS,
  type Route,
  SIGNED_IN,
} from "./authz-matrix-api/harness";

const KEY = "/repository/:repository{.+}/notification";
const BASE = `/repository/${PRIVATE}/notification`;
const SEEDED = "https://hooks.example.com/seeded";

const repository = async () => (await findRepository(db(), PRIVATE))!;

async function clear(): Promise<void> {
  await db()
    .delete(repositoryNotifications)
    .where(eq(repositoryNotifications.repositoryId, (await repository()).id));
}

/** The private repository's notifications as [uuid, url, failures]. */
async function held(): Promise<unknown[][]> {
  return (await listNotifications(db(), env, await repository())).map((n) => [
    n.row.uuid,
    n.config.url,
    n.row.numberOfFailures,
  ]);
}

/** Clears the repository and seeds one webhook notification with two failures; its uuid. */
async function seed(): Promise<string> {
  await clear();
  const input = { event: "repo_push", method: "webhook", config: { url: SEEDED }, eventConfig: {} };
  const made = await createNotification(
    db(),
    env,
    readConfig(env),
    await repository(),
    input,
    "http://x",
    fixtureEvents(),
  );
  await db()
    .update(repositoryNotifications)
    .set({ numberOfFailures: 2 })
    .where(eq(repositoryNotifications.uuid, made.row.uuid));
  return made.row.uuid;
}

/** A cell from the seeded notification: `effect` checks an allowed call; a refused one leaves it as seeded. */
function fromSeeded(
  ok: number,
  path: (uuid: string) => string,
  body: unknown,
  effect: (res: Answer, uuid: string, queued: Delivery[]) => Promise<void>,
): Route {
  return {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok,
    run: async (ctx) => {
      const uuid = await seed();
      const queued = recordDeliveries();
      const res = await ctx.send(path(uuid), body);
      return {
        res,
        effect: () => effect(res, uuid, queued),
        unchanged: async () => {
          expect(await held()).toEqual([[uuid, SEEDED, 2]]);
          expect(queued).toEqual([]);
          await clear();
        },
      };
    },
  };
}

const one = (uuid: string) => `${BASE}/${uuid}`;

const ROUTES: Record<string, Route> = {
  [`GET ${KEY}`]: fromSeeded(
    200,
    () => `${BASE}/`,
    undefined,
    async (res, uuid) => {
      expect(res.json.notifications.map((n: { uuid: string }) => n.uuid)).toEqual([uuid]);
    },
  ),
  [`POST ${KEY}`]: fromSeeded(
    201,
    () => `${BASE}/`,
    { event: "repo_push", method: "webhook", config: { url: "https://hooks.example.com/new" }, eventConfig: {} },
    async (res, uuid) => {
      expect((await held()).sort()).toEqual(
        [
          [uuid, SEEDED, 2],
          [res.json.uuid, "https://hooks.example.com/new", 0],
        ].sort(),
      );
    },
  ),
  [`GET ${KEY}/:uuid`]: fromSeeded(200, one, undefined, async (res, uuid) => {
    expect(res.json).toMatchObject({ uuid, config: { url: SEEDED }, number_of_failures: 2 });
  }),
  [`DELETE ${KEY}/:uuid`]: fromSeeded(204, one, undefined, async () => {
    expect(await held()).toEqual([]);
  }),
  [`POST ${KEY}/:uuid`]: fromSeeded(204, one, undefined, async (_res, uuid) => {
    expect(await held()).toEqual([[uuid, SEEDED, 0]]);
  }),
  [`POST ${KEY}/:uuid/test`]: fromSeeded(
    200,
    (uuid) => `${one(uuid)}/test`,
    undefined,
    async (res, uuid) => {
      expect(res.json).toEqual({});
      expect(await held()).toEqual([[uuid, SEEDED, 2]]);
    },
  ),
};

/** Seeds one in-app notification for the caller's account; its uuid and a reader of its dismissal. */
async function seedInApp(ctx: Ctx) {
  const user = await account(ctx.account);
  await db().delete(userNotifications).where(eq(userNotifications.userId, user.id));
  const uuid = crypto.randomUUID();
  await db()
    .insert(userNotifications)
    .values({ uuid, userId: user.id, kind: "repo_push", metadata: JSON.stringify({ repository: PUBLIC }) });
  const dismissed = async () =>
    (await db().select().from(userNotifications).where(eq(userNotifications.uuid, uuid)).get())?.dismissed;
  return { uuid, dismissed, clear: () => db().delete(userNotifications).where(eq(userNotifications.userId, user.id)) };
}

function inApp(
  path: (uuid: string) => string,
  body: unknown,
  effect: (res: Answer, uuid: string, dismissed: () => Promise<boolean | undefined>) => Promise<void>,
): Route {
  return {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async (ctx) => {
      const seeded = await seedInApp(ctx);
      const res = await ctx.send(path(seeded.uuid), body);
      return {
        res,
        effect: async () => {
          await effect(res, seeded.uuid, seeded.dismissed);
          await seeded.clear();
        },
        unchanged: async () => {
          expect(await seeded.dismissed()).toBe(false);
          await seeded.clear();
        },
      };
    },
  };
}

ROUTES["GET /user/notifications"] = inApp(
  () => "/user/notifications",
  undefined,
  async (res, uuid) => {
    expect(res.json.notifications.map((n: { id: string }) => n.id)).toEqual([uuid]);
  },
);
ROUTES["GET /user/notifications/:uuid"] = inApp(
  (uuid) => `/user/notifications/${uuid}`,
  undefined,
  async (res, uuid) => {
    expect(res.json).toMatchObject({ id: uuid, dismissed: false });
  },
);
ROUTES["PUT /user/notifications/:uuid"] = inApp(
  (uuid) => `/user/notifications/${uuid}`,
  { dismissed: true },
  async (res, uuid, dismissed) => {
    expect(res.json).toMatchObject({ id: uuid, dismissed: true });
    expect(await dismissed()).toBe(true);
  },
);

/**
 * Quay's `repoemail.py` is `@show_if(features.MAILING)`: with FEATURE_MAILING off (the matrix's
 * configuration) the routes do not exist, and every caller gets the same 404 (but a Bearer that
 * resolves to no one, refused with 401 before any route, as everywhere). Their rule with
 * mailing on (repository admins only) is test/workers/notifications/email.test.ts's.
 */
const ABSENT: Partial<Record<CallerKey, number>> = Object.fromEntries(
  CALLERS.filter((caller) => caller.kind !== "refused").map((caller) => [caller.key, 404]),
);
for (const method of ["GET", "POST"])
  ROUTES[`${method} /repository/:repository{.+}/authorizedemail/:email`] = {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 404,
    override: ABSENT,
    run: async (ctx) => ({ res: await ctx.send(`/repository/${PRIVATE}/authorizedemail/ops@example.com`) }),
  };

defineMatrix("notifications", ROUTES);
