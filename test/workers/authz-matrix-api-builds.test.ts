/**
 * The /api/v1 authorization matrix, builds (issue #18): Quay's build.py operations on the private
 * repository, the superuser's build views and the filedrop, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As the README states it: reading builds needs repo:read and the pull right (404 for whoever may
 * not pull, as for a missing repository); the logs, repo:read and the write role (Quay's
 * FEATURE_READER_BUILD_LOGS off); requesting a build, repo:write and the write role; cancelling,
 * repo:admin and the admin role (403 otherwise, existing or not). `/superuser/{uuid}/…`: a
 * superuser's super:user token. The filedrop: any signed-in user's repo:write token.
 */
import { eq } from "drizzle-orm";
import { beforeAll, expect } from "vitest";
import { filedrops, repositoryBuilds } from "../../src/db/schema";
import { db } from "./helpers/accounts";
import {
  as,
  defineMatrix,
  PRIVATE,
  PUBLIC,
  REPO_ADMINS,
  REPO_READERS,
  REPO_WRITERS,
  type Route,
  SIGNED_IN,
  SUPERUSER,
} from "./authz-matrix-api/harness";

/** A build of the private repository every reading cell reads, and one of the public one the superuser reads. */
let privateBuild: string;
let publicBuild: string;

const ARCHIVE = { archive_url: "https://example.com/context.tar.gz" };

async function queuedBuild(repository: string): Promise<string> {
  const res = await as("owner", "POST", `/repository/${repository}/build/`, ARCHIVE);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.id;
}

const phaseOf = async (uuid: string) =>
  (await db().select().from(repositoryBuilds).where(eq(repositoryBuilds.uuid, uuid)).get())?.phase;

const buildsOf = async () => (await db().select({ id: repositoryBuilds.id }).from(repositoryBuilds).all()).length;

const READ = { scope: "repo:read", allow: REPO_READERS, ok: 200, denied: 404, anonymous: 404 } as const;
const SUPERUSER_READ = { scope: "super:user", allow: SUPERUSER, ok: 200 } as const;

const ROUTES: Record<string, Route> = {
  "GET /repository/:repository{.+}/build": {
    ...READ,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/build/?limit=100`);
      return {
        res,
        effect: async () => expect(res.json.builds.map((b: { id: string }) => b.id)).toContain(privateBuild),
      };
    },
  },
  "POST /repository/:repository{.+}/build": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 201,
    run: async ({ send }) => {
      const before = await buildsOf();
      const res = await send(`/repository/${PRIVATE}/build/`, ARCHIVE);
      return {
        res,
        effect: async () => expect(await phaseOf(res.json.id)).toBe("waiting"),
        unchanged: async () => expect(await buildsOf()).toBe(before),
      };
    },
  },
  "GET /repository/:repository{.+}/build/:build_uuid": {
    ...READ,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/build/${privateBuild}`);
      return { res, effect: async () => expect(res.json.id).toBe(privateBuild) };
    },
  },
  "GET /repository/:repository{.+}/build/:build_uuid/status": {
    ...READ,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/build/${privateBuild}/status`);
      return { res, effect: async () => expect(res.json.phase).toBe("waiting") };
    },
  },
  "GET /repository/:repository{.+}/build/:build_uuid/logs": {
    scope: "repo:read",
    allow: REPO_WRITERS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/build/${privateBuild}/logs`);
      return { res, effect: async () => expect(res.json).toEqual({ start: 0, total: 0, logs: [] }) };
    },
  },
  "DELETE /repository/:repository{.+}/build/:build_uuid": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 201,
    run: async ({ send }) => {
      const uuid = await queuedBuild(PRIVATE);
      const res = await send(`/repository/${PRIVATE}/build/${uuid}`);
      return {
        res,
        effect: async () => expect(await phaseOf(uuid)).toBe("cancelled"),
        unchanged: async () => expect(await phaseOf(uuid)).toBe("waiting"),
      };
    },
  },
  "GET /superuser/:build_uuid/build": {
    ...SUPERUSER_READ,
    run: async ({ send }) => {
      const res = await send(`/superuser/${publicBuild}/build`);
      return { res, effect: async () => expect(res.json.id).toBe(publicBuild) };
    },
  },
  "GET /superuser/:build_uuid/status": {
    ...SUPERUSER_READ,
    run: async ({ send }) => {
      const res = await send(`/superuser/${publicBuild}/status`);
      return { res, effect: async () => expect(res.json.phase).toBe("waiting") };
    },
  },
  "GET /superuser/:build_uuid/logs": {
    ...SUPERUSER_READ,
    run: async ({ send }) => {
      const res = await send(`/superuser/${publicBuild}/logs`);
      return { res, effect: async () => expect(res.json.total).toBe(0) };
    },
  },
  "POST /filedrop": {
    scope: "repo:write",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/filedrop/", { mimeType: "text/plain" });
      return {
        res,
        effect: async () =>
          expect(await db().select().from(filedrops).where(eq(filedrops.uuid, res.json.file_id)).get()).toBeDefined(),
      };
    },
  },
};

defineMatrix("builds", ROUTES);

beforeAll(async () => {
  privateBuild = await queuedBuild(PRIVATE);
  publicBuild = await queuedBuild(PUBLIC);
});
