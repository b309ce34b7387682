/**
 * The /api/v1 authorization matrix, action logs: `…/logs`, `…/aggregatelogs` and `…/exportlogs` of the caller's
 * own namespace, an organization, a repository and the whole registry (the superuser's), against
 * every kind of caller (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As the README states it (Quay's rule): a user's own with user:admin; an organization's admins
 * with org:admin (403 for everyone else, whether or not it exists); a repository's admins with
 * repo:admin, where whoever may not pull the private repository gets 404 as for a missing one, and
 * those who may pull but not administer it 403 (they know it exists); the superuser's, the
 * superuser with super:user.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { logExports } from "../../src/db/schema";
import { db } from "./helpers/accounts";
import {
  defineMatrix,
  ORG,
  ORG_ADMIN,
  PRIVATE,
  REPO_ADMINS,
  type Route,
  SIGNED_IN,
  SUPERUSER,
} from "./authz-matrix-api/harness";

/** An allowed listing answers Quay's page: its window and its (possibly empty) entries. */
const page =
  (path: string): Route["run"] =>
  async ({ send }) => {
    const res = await send(path);
    return {
      res,
      effect: async () => {
        expect(res.json).toMatchObject({ start_time: expect.any(String), end_time: expect.any(String) });
        expect(res.json.logs).toEqual(expect.any(Array));
      },
    };
  };

const counts =
  (path: string): Route["run"] =>
  async ({ send }) => {
    const res = await send(path);
    return { res, effect: async () => expect(res.json.aggregated).toEqual(expect.any(Array)) };
  };

/**
 * An accepted export answers `{export_id}`; the effect ends it (as if delivered), so that the next
 * admin of the same namespace may export (one at a time per namespace). The e-mail callback, with
 * FEATURE_MAILING off, sends nothing.
 */
const exported =
  (path: string): Route["run"] =>
  async ({ send }) => {
    const res = await send(path, { callback_email: "exports@example.com" });
    return {
      res,
      effect: async () => {
        expect(res.json).toEqual({ export_id: expect.any(String) });
        await db().update(logExports).set({ state: "done" }).where(eq(logExports.id, res.json.export_id)).run();
      },
    };
  };

/** A repository's: its admins; readers who are not admins know it exists (403), others 404. */
const REPOSITORY_ADMINS = {
  scope: "repo:admin",
  allow: REPO_ADMINS,
  ok: 200,
  denied: 404,
  override: { reader: 403, writer: 403, teamwriter: 403 },
} as const;

const ROUTES: Record<string, Route> = {
  "GET /user/logs": { scope: "user:admin", allow: SIGNED_IN, ok: 200, run: page("/user/logs") },
  "GET /user/aggregatelogs": { scope: "user:admin", allow: SIGNED_IN, ok: 200, run: counts("/user/aggregatelogs") },
  "GET /organization/:orgname/logs": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: page(`/organization/${ORG}/logs`),
  },
  "GET /organization/:orgname/aggregatelogs": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: counts(`/organization/${ORG}/aggregatelogs`),
  },
  "GET /repository/:repository{.+}/logs": { ...REPOSITORY_ADMINS, run: page(`/repository/${PRIVATE}/logs`) },
  "GET /repository/:repository{.+}/aggregatelogs": {
    ...REPOSITORY_ADMINS,
    run: counts(`/repository/${PRIVATE}/aggregatelogs`),
  },
  "POST /user/exportlogs": { scope: "user:admin", allow: SIGNED_IN, ok: 200, run: exported("/user/exportlogs") },
  "POST /organization/:orgname/exportlogs": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: exported(`/organization/${ORG}/exportlogs`),
  },
  "POST /repository/:repository{.+}/exportlogs": {
    ...REPOSITORY_ADMINS,
    run: exported(`/repository/${PRIVATE}/exportlogs`),
  },
  "GET /superuser/logs": { scope: "super:user", allow: SUPERUSER, ok: 200, run: page("/superuser/logs") },
  "GET /superuser/aggregatelogs": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: counts("/superuser/aggregatelogs"),
  },
};

defineMatrix("logs", ROUTES);
