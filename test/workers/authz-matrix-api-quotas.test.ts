/**
 * The /api/v1 authorization matrix, quotas: every `/organization/{orgname}/quota…`, `/user/quota…`
 * and superuser quota route against every kind of caller (test/workers/authz-matrix-api/harness.ts
 * lists them and the rule).
 *
 * As Quay's `endpoints/api/namespacequota.py` and `superuser.py`: an organization's quota is read by
 * its members (the token's scopes capping the role: a user:read token holds none) and by
 * superusers with super:user; its limits by its members only (Quay opens them to superusers only
 * with FEATURE_SUPERUSERS_FULL_ACCESS); every write, and every `/superuser/…/quota` route, needs a
 * superuser and the super:user scope, not even the organization's admin. Each signed-in user reads
 * their own namespace's quota with user:admin.
 */
import { expect } from "vitest";
import { namespaceQuotas } from "../../src/db/schema";
import { createLimit, listLimits } from "../../src/quota/quota-limits";
import { createQuota, listQuotas } from "../../src/quota/quotas";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import {
  account,
  defineMatrix,
  ORG,
  ORG_MEMBERS,
  replicaOrganization,
  type Route,
  SIGNED_IN,
  SUPERUSER,
} from "./authz-matrix-api/harness";

const BYTES = 1_000_000;

/** The namespace's quota, made (with one Warning limit at 50%) if it has none; answers both ids. */
async function quotaOf(name: string): Promise<{ quotaId: number; limitId: number }> {
  const namespace = await account(name);
  if ((await listQuotas(db(), namespace)).length === 0) {
    await createQuota(db(), namespace, { bytes: BYTES, shown: String(BYTES) }, "exists", fixtureEvents());
    const [quota] = await listQuotas(db(), namespace);
    await createLimit(db(), namespace, quota!, { type: "Warning", threshold_percent: 50 }, fixtureEvents());
  }
  const [quota] = await listQuotas(db(), namespace);
  const [limit] = await listLimits(db(), quota!);
  return { quotaId: quota!.id, limitId: limit!.id };
}

/** A new organization like `acme`, with a quota and a limit. */
async function replicaWithQuota() {
  const org = await replicaOrganization();
  return { org, ...(await quotaOf(org)) };
}

const quotaBytes = async (name: string) => (await listQuotas(db(), await account(name))).map((q) => q.limitBytes);
const limitPercents = async (name: string) => {
  const [quota] = await listQuotas(db(), await account(name));
  return quota ? (await listLimits(db(), quota)).map((l) => l.thresholdPercent) : [];
};

/** Quay: a user:read token holds no organization role, and is no superuser's. */
const READ_TOKENS_REFUSED = { "orgadmin-unscoped": 403, "superuser-unscoped": 403 } as const;

/** A read that needs no scope (Quay's permission checks only), refusing anonymous callers (401). */
const memberRead = (allow: Route["allow"]): Omit<Route, "run"> => ({
  scope: null,
  allow: [...allow, "unscoped"],
  ok: 200,
  override: READ_TOKENS_REFUSED,
});

const SUPERUSER_WRITE = { scope: "super:user", allow: SUPERUSER } as const;

const ROUTES: Record<string, Route> = {
  "GET /organization/:orgname/quota": {
    ...memberRead([...ORG_MEMBERS, "superuser"]),
    run: async ({ send }) => {
      await quotaOf(ORG);
      const res = await send(`/organization/${ORG}/quota`);
      return {
        res,
        effect: async () => expect(res.json[0]).toMatchObject({ limit_bytes: BYTES, default_config: false }),
      };
    },
  },
  "POST /organization/:orgname/quota": {
    ...SUPERUSER_WRITE,
    ok: 201,
    run: async ({ send }) => {
      const org = await replicaOrganization();
      const res = await send(`/organization/${org}/quota`, { limit: "2 Mi" });
      return {
        res,
        effect: async () => expect(await quotaBytes(org)).toEqual([2 * 1024 * 1024]),
        unchanged: async () => expect(await quotaBytes(org)).toEqual([]),
      };
    },
  },
  "GET /organization/:orgname/quota/:quota_id": {
    ...memberRead([...ORG_MEMBERS, "superuser"]),
    run: async ({ send }) => {
      const { quotaId } = await quotaOf(ORG);
      const res = await send(`/organization/${ORG}/quota/${quotaId}`);
      return { res, effect: async () => expect(res.json).toMatchObject({ id: quotaId, limit_bytes: BYTES }) };
    },
  },
  "PUT /organization/:orgname/quota/:quota_id": {
    ...SUPERUSER_WRITE,
    ok: 200,
    run: async ({ send }) => {
      const { org, quotaId } = await replicaWithQuota();
      const res = await send(`/organization/${org}/quota/${quotaId}`, { limit_bytes: 2 * BYTES });
      return {
        res,
        effect: async () => expect(await quotaBytes(org)).toEqual([2 * BYTES]),
        unchanged: async () => expect(await quotaBytes(org)).toEqual([BYTES]),
      };
    },
  },
  "DELETE /organization/:orgname/quota/:quota_id": {
    ...SUPERUSER_WRITE,
    ok: 204,
    run: async ({ send }) => {
      const { org, quotaId } = await replicaWithQuota();
      const res = await send(`/organization/${org}/quota/${quotaId}`);
      return {
        res,
        effect: async () => expect(await quotaBytes(org)).toEqual([]),
        unchanged: async () => expect(await quotaBytes(org)).toEqual([BYTES]),
      };
    },
  },
  "GET /organization/:orgname/quota/:quota_id/limit": {
    ...memberRead(ORG_MEMBERS),
    run: async ({ send }) => {
      const { quotaId, limitId } = await quotaOf(ORG);
      const res = await send(`/organization/${ORG}/quota/${quotaId}/limit`);
      return {
        res,
        effect: async () => expect(res.json).toEqual([{ id: limitId, type: "Warning", limit_percent: 50 }]),
      };
    },
  },
  "POST /organization/:orgname/quota/:quota_id/limit": {
    ...SUPERUSER_WRITE,
    ok: 201,
    run: async ({ send }) => {
      const { org, quotaId } = await replicaWithQuota();
      const res = await send(`/organization/${org}/quota/${quotaId}/limit`, { type: "Reject", threshold_percent: 90 });
      return {
        res,
        effect: async () => expect(await limitPercents(org)).toEqual([50, 90]),
        unchanged: async () => expect(await limitPercents(org)).toEqual([50]),
      };
    },
  },
  "GET /organization/:orgname/quota/:quota_id/limit/:limit_id": {
    ...memberRead(ORG_MEMBERS),
    run: async ({ send }) => {
      const { quotaId, limitId } = await quotaOf(ORG);
      const res = await send(`/organization/${ORG}/quota/${quotaId}/limit/${limitId}`);
      return { res, effect: async () => expect(res.json).toEqual({ id: limitId, type: "Warning", limit_percent: 50 }) };
    },
  },
  "PUT /organization/:orgname/quota/:quota_id/limit/:limit_id": {
    ...SUPERUSER_WRITE,
    ok: 200,
    run: async ({ send }) => {
      const { org, quotaId, limitId } = await replicaWithQuota();
      const res = await send(`/organization/${org}/quota/${quotaId}/limit/${limitId}`, { threshold_percent: 60 });
      return {
        res,
        effect: async () => expect(await limitPercents(org)).toEqual([60]),
        unchanged: async () => expect(await limitPercents(org)).toEqual([50]),
      };
    },
  },
  "DELETE /organization/:orgname/quota/:quota_id/limit/:limit_id": {
    ...SUPERUSER_WRITE,
    ok: 204,
    run: async ({ send }) => {
      const { org, quotaId, limitId } = await replicaWithQuota();
      const res = await send(`/organization/${org}/quota/${quotaId}/limit/${limitId}`);
      return {
        res,
        effect: async () => expect(await limitPercents(org)).toEqual([]),
        unchanged: async () => expect(await limitPercents(org)).toEqual([50]),
      };
    },
  },
  // Every signed-in user, on their own namespace (Quay's require_user_admin).
  "GET /user/quota": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: name }) => {
      await quotaOf(name);
      const res = await send("/user/quota");
      return { res, effect: async () => expect(res.json).toEqual([expect.objectContaining({ limit_bytes: BYTES })]) };
    },
  },
  "GET /user/quota/:quota_id": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: name }) => {
      const { quotaId } = await quotaOf(name);
      const res = await send(`/user/quota/${quotaId}`);
      return { res, effect: async () => expect(res.json).toMatchObject({ id: quotaId, limit_bytes: BYTES }) };
    },
  },
  "GET /user/quota/:quota_id/limit": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: name }) => {
      const { quotaId, limitId } = await quotaOf(name);
      const res = await send(`/user/quota/${quotaId}/limit`);
      return {
        res,
        effect: async () => expect(res.json).toEqual([{ id: limitId, type: "Warning", limit_percent: 50 }]),
      };
    },
  },
  "GET /user/quota/:quota_id/limit/:limit_id": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: name }) => {
      const { quotaId, limitId } = await quotaOf(name);
      const res = await send(`/user/quota/${quotaId}/limit/${limitId}`);
      return { res, effect: async () => expect(res.json).toEqual({ id: limitId, type: "Warning", limit_percent: 50 }) };
    },
  },
};

/** The superuser's routes, the same under `users` and `organization`, on a namespace of either kind. */
for (const kind of ["users", "organization"] as const) {
  const base = `/superuser/${kind}/:namespace/quota`;
  Object.assign(ROUTES, {
    [`GET ${base}`]: {
      ...SUPERUSER_WRITE,
      ok: 200,
      run: async ({ send }) => {
        await quotaOf("bystander");
        const res = await send(`/superuser/${kind}/bystander/quota`);
        return { res, effect: async () => expect(res.json[0]).toMatchObject({ limit_bytes: BYTES }) };
      },
    },
    [`POST ${base}`]: {
      ...SUPERUSER_WRITE,
      ok: 201,
      run: async ({ send }) => {
        const org = await replicaOrganization();
        const res = await send(`/superuser/${kind}/${org}/quota`, { limit_bytes: 3 * BYTES });
        return {
          res,
          effect: async () => expect(await quotaBytes(org)).toEqual([3 * BYTES]),
          unchanged: async () => expect(await quotaBytes(org)).toEqual([]),
        };
      },
    },
    [`PUT ${base}/:quota_id`]: {
      ...SUPERUSER_WRITE,
      ok: 200,
      run: async ({ send }) => {
        const { org, quotaId } = await replicaWithQuota();
        const res = await send(`/superuser/${kind}/${org}/quota/${quotaId}`, { limit: "4 MB" });
        return {
          res,
          effect: async () => expect(await quotaBytes(org)).toEqual([4_000_000]),
          unchanged: async () => expect(await quotaBytes(org)).toEqual([BYTES]),
        };
      },
    },
    [`DELETE ${base}/:quota_id`]: {
      ...SUPERUSER_WRITE,
      ok: 204,
      run: async ({ send }) => {
        const { org, quotaId } = await replicaWithQuota();
        const res = await send(`/superuser/${kind}/${org}/quota/${quotaId}`);
        return {
          res,
          effect: async () =>
            expect(await db().select().from(namespaceQuotas).all()).not.toContainEqual(
              expect.objectContaining({ id: quotaId }),
            ),
          unchanged: async () => expect(await quotaBytes(org)).toEqual([BYTES]),
        };
      },
    },
  } satisfies Record<string, Route>);
}

defineMatrix("quotas", ROUTES);
