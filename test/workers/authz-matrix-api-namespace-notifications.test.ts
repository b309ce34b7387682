/**
 * The /api/v1 authorization matrix, namespace notifications: every route of an organization's
 * (`/organization/{orgname}/notifications…`) and of the signed-in user's
 * (`/user/namespacenotifications…`) against every kind of caller (test/workers/authz-matrix-api/
 * harness.ts lists them and the rule), with FEATURE_QUOTA_NOTIFICATIONS on (off, every route is 404
 * to everyone: test/workers/api/namespace-notifications.test.ts).
 *
 * As Quay's `endpoints/api/namespacenotification.py`: an organization's for its admins with
 * org:admin, anyone else 403 whether or not it exists (Quay's superuser access, global read-only
 * or SUPERUSERS_FULL_ACCESS, is not offered: Wharf has neither); the user's own for every signed-in
 * user with user:admin (`require_user_admin`). Each cell starts from one seeded notification with
 * two failures and checks what the call did, or that it is untouched.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { readConfig } from "../../src/config";
import { namespaceNotifications } from "../../src/db/schema";
import type { Delivery } from "../../src/notifications/message";
import {
  createNamespaceNotification,
  listNamespaceNotifications,
} from "../../src/notifications/namespace-notifications";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { recordDeliveries } from "./helpers/notifications";
import {
  type Answer,
  account,
  type Ctx,
  defineMatrix,
  ORG,
  ORG_ADMIN,
  type Route,
  SIGNED_IN,
} from "./authz-matrix-api/harness";

const flagged = { ...env, FEATURE_QUOTA_NOTIFICATIONS: "true" } as unknown as Env;
const SEEDED = "https://hooks.example.com/seeded";

/** The namespace's notifications as [uuid, url, failures]. */
async function held(namespace: string): Promise<unknown[][]> {
  return (await listNamespaceNotifications(db(), env, await account(namespace))).map((n) => [
    n.row.uuid,
    n.config.url,
    n.row.numberOfFailures,
  ]);
}

async function clear(namespace: string): Promise<void> {
  await db()
    .delete(namespaceNotifications)
    .where(eq(namespaceNotifications.namespaceId, (await account(namespace)).id));
}

/** Clears the namespace and seeds one webhook notification with two failures; its uuid. */
async function seed(namespace: string): Promise<string> {
  await clear(namespace);
  const input = { event: "quota_warning", method: "webhook", config: { url: SEEDED }, eventConfig: {} };
  const made = await createNamespaceNotification(
    db(),
    env,
    readConfig(env),
    await account(namespace),
    input,
    "http://x",
    fixtureEvents(),
  );
  await db()
    .update(namespaceNotifications)
    .set({ numberOfFailures: 2 })
    .where(eq(namespaceNotifications.uuid, made.row.uuid));
  return made.row.uuid;
}

type Effect = (res: Answer, uuid: string, held: () => Promise<unknown[][]>, queued: Delivery[]) => Promise<void>;

/** Routes of the two kinds of path: where they are, whose namespace, who may call them. */
interface Kind {
  base: string;
  namespace: (ctx: Ctx) => string;
  scope: "org:admin" | "user:admin";
  allow: Route["allow"];
}

const ORGANIZATION: Kind = {
  base: `/organization/${ORG}/notifications`,
  namespace: () => ORG,
  scope: "org:admin",
  allow: ORG_ADMIN,
};
const USER: Kind = {
  base: "/user/namespacenotifications",
  namespace: (ctx) => ctx.account,
  scope: "user:admin",
  allow: SIGNED_IN,
};

function fromSeeded(kind: Kind, ok: number, path: (uuid: string) => string, body: unknown, effect: Effect): Route {
  return {
    scope: kind.scope,
    allow: kind.allow,
    ok,
    env: flagged,
    run: async (ctx) => {
      const namespace = kind.namespace(ctx);
      const uuid = await seed(namespace);
      const queued = recordDeliveries();
      const res = await ctx.send(path(uuid), body);
      return {
        res,
        effect: async () => {
          await effect(res, uuid, () => held(namespace), queued);
          await clear(namespace);
        },
        unchanged: async () => {
          expect(await held(namespace)).toEqual([[uuid, SEEDED, 2]]);
          expect(queued).toEqual([]);
          await clear(namespace);
        },
      };
    },
  };
}

const NEW = {
  event: "quota_error",
  method: "webhook",
  config: { url: "https://hooks.example.com/new" },
  eventConfig: {},
};

function routesOf(kind: Kind, key: string): Record<string, Route> {
  const one = (uuid: string) => `${kind.base}/${uuid}`;
  return {
    [`GET ${key}`]: fromSeeded(
      kind,
      200,
      () => kind.base,
      undefined,
      async (res, uuid) => {
        expect(res.json.notifications.map((n: { uuid: string }) => n.uuid)).toEqual([uuid]);
      },
    ),
    [`POST ${key}`]: fromSeeded(
      kind,
      201,
      () => kind.base,
      NEW,
      async (res, uuid, heldNow) => {
        expect((await heldNow()).sort()).toEqual(
          [
            [uuid, SEEDED, 2],
            [res.json.uuid, "https://hooks.example.com/new", 0],
          ].sort(),
        );
      },
    ),
    [`GET ${key}/:uuid`]: fromSeeded(kind, 200, one, undefined, async (res, uuid) => {
      expect(res.json).toMatchObject({ uuid, config: { url: SEEDED }, number_of_failures: 2 });
    }),
    [`DELETE ${key}/:uuid`]: fromSeeded(kind, 204, one, undefined, async (_res, _uuid, heldNow) => {
      expect(await heldNow()).toEqual([]);
    }),
    [`POST ${key}/:uuid`]: fromSeeded(kind, 204, one, undefined, async (_res, uuid, heldNow) => {
      expect(await heldNow()).toEqual([[uuid, SEEDED, 0]]);
    }),
    [`POST ${key}/:uuid/test`]: fromSeeded(
      kind,
      200,
      (uuid) => `${one(uuid)}/test`,
      undefined,
      async (res, uuid, heldNow, queued) => {
        expect(res.json).toEqual({});
        expect(queued).toMatchObject([{ notification: uuid, scope: "namespace", event: "quota_warning" }]);
        expect(await heldNow()).toEqual([[uuid, SEEDED, 2]]);
      },
    ),
  };
}

defineMatrix("namespace-notifications", {
  ...routesOf(ORGANIZATION, "/organization/:orgname/notifications"),
  ...routesOf(USER, "/user/namespacenotifications"),
});
