/**
 * The /api/v1 authorization matrix, organization mirroring: every `/organization/{orgname}/mirror`
 * route against every kind of caller (test/workers/authz-matrix-api/harness.ts lists them and the
 * rule).
 *
 * As Quay's `endpoints/api/org_mirror.py` (`require_org_admin`): the organization's admins with
 * org:admin; anyone else 403, whether or not the organization exists (superusers are not its
 * admins: Wharf offers no SUPERUSERS_FULL_ACCESS). `org_mirrorhealth.py`: any signed-in member of
 * the organization or a superuser, whatever the token's scopes (no `require_scope`). The
 * fixtures' organization holds repositories, so its mirror is put in place directly (the API
 * refuses a mirror of a non-empty organization: the admin's POST meets that 400).
 */
import { eq } from "drizzle-orm";
import { expect, vi } from "vitest";
import { orgMirrorConfigs, users } from "../../src/db/schema";
import { findOrganization } from "../../src/identity/organizations";
import { db } from "./helpers/accounts";
import { defineMatrix, ORG, ORG_ADMIN, ROBOT, type Route } from "./authz-matrix-api/harness";

const BASE = `/organization/${ORG}/mirror`;
const KEY = "/organization/:orgname/mirror";

/** acme's mirror row, put back as it was before each cell: NEVER_RUN, interval 3600. */
async function ensureMirror(): Promise<number> {
  const org = (await findOrganization(db(), ORG))!;
  const robot = (await db().select().from(users).where(eq(users.username, ROBOT)).get())!;
  const values = {
    organizationId: org.id,
    robotUserId: robot.id,
    registryType: "quay" as const,
    registryUrl: "https://quay.example.com",
    externalNamespace: "projectquay",
    visibility: "private" as const,
    syncInterval: 3600,
    syncStartDate: Date.UTC(2099, 0, 1),
    syncStatus: "NEVER_RUN" as const,
    syncRetriesRemaining: 3,
    syncExpirationDate: null,
    syncTransactionId: crypto.randomUUID(),
  };
  const [row] = await db()
    .insert(orgMirrorConfigs)
    .values(values)
    .onConflictDoUpdate({ target: orgMirrorConfigs.organizationId, set: values })
    .returning({ id: orgMirrorConfigs.id });
  return row!.id;
}

const mirrorRow = async () => {
  const org = (await findOrganization(db(), ORG))!;
  return db().select().from(orgMirrorConfigs).where(eq(orgMirrorConfigs.organizationId, org.id)).get();
};

const adminOnly = { scope: "org:admin" as const, allow: ORG_ADMIN };

const ROUTES: Record<string, Route> = {
  [`GET ${KEY}`]: {
    ...adminOnly,
    ok: 200,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(BASE);
      return {
        res,
        effect: async () => expect(res.json).toMatchObject({ robot_username: ROBOT, sync_status: "NEVER_RUN" }),
      };
    },
  },
  // The admin passes authorization and meets Quay's rule: the organization holds repositories.
  [`POST ${KEY}`]: {
    ...adminOnly,
    ok: 400,
    run: async (ctx) => {
      await ensureMirror();
      const before = await mirrorRow();
      const res = await ctx.send(BASE, {
        external_registry_type: "harbor",
        external_registry_url: "https://harbor.example.com",
        external_namespace: "library",
        robot_username: ROBOT,
        visibility: "public",
        sync_interval: 60,
        sync_start_date: "2026-01-01T00:00:00Z",
      });
      const unchanged = async () => expect(await mirrorRow()).toEqual(before);
      return {
        res,
        effect: async () => {
          expect(res.json.error_message).toMatch(/already contains repositories/);
          await unchanged();
        },
        unchanged,
      };
    },
  },
  [`PUT ${KEY}`]: {
    ...adminOnly,
    ok: 200,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(BASE, { sync_interval: 120 });
      const interval = async () => (await mirrorRow())!.syncInterval;
      return {
        res,
        effect: async () => expect(await interval()).toBe(120),
        unchanged: async () => expect(await interval()).toBe(3600),
      };
    },
  },
  [`DELETE ${KEY}`]: {
    ...adminOnly,
    ok: 204,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(BASE);
      return {
        res,
        effect: async () => {
          expect(await mirrorRow()).toBeUndefined();
          await ensureMirror();
        },
        unchanged: async () => expect(await mirrorRow()).toBeDefined(),
      };
    },
  },
  [`POST ${KEY}/sync-now`]: {
    ...adminOnly,
    ok: 204,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(`${BASE}/sync-now`);
      const status = async () => (await mirrorRow())!.syncStatus;
      return {
        res,
        effect: async () => expect(await status()).toBe("SYNC_NOW"),
        unchanged: async () => expect(await status()).toBe("NEVER_RUN"),
      };
    },
  },
  [`POST ${KEY}/sync-cancel`]: {
    ...adminOnly,
    ok: 204,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(`${BASE}/sync-cancel`);
      const status = async () => (await mirrorRow())!.syncStatus;
      return {
        res,
        effect: async () => expect(await status()).toBe("CANCEL"),
        unchanged: async () => expect(await status()).toBe("NEVER_RUN"),
      };
    },
  },
  [`POST ${KEY}/verify`]: {
    ...adminOnly,
    ok: 200,
    run: async (ctx) => {
      await ensureMirror();
      // The source answers without the network: only the admin's call reaches it.
      const source = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("{}"));
      try {
        const res = await ctx.send(`${BASE}/verify`);
        const asked = source.mock.calls.length;
        return {
          res,
          effect: async () => expect(res.json).toEqual({ success: true, message: "Connection successful" }),
          unchanged: async () => expect(asked).toBe(0),
        };
      } finally {
        source.mockRestore();
      }
    },
  },
  [`GET ${KEY}/repositories`]: {
    ...adminOnly,
    ok: 200,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(`${BASE}/repositories`);
      return { res, effect: async () => expect(res.json).toMatchObject({ repositories: [], total: 0 }) };
    },
  },
  // Members (the team's writer, the admin) and superusers, by any token; others 403.
  [`GET ${KEY}/health`]: {
    scope: null,
    allow: ["superuser", "orgadmin", "teamwriter", "unscoped"],
    ok: 200,
    run: async (ctx) => {
      await ensureMirror();
      const res = await ctx.send(`${BASE}/health`);
      return { res, effect: async () => expect(res.json).toMatchObject({ organization: { never_run: 1 } }) };
    },
  },
};

defineMatrix("org-mirror", ROUTES);
