/**
 * The /api/v1 authorization matrix, repositories: `/repository…` (repositories and their user and
 * team permissions) and `/user/starred`, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule; authz-matrix-api.test.ts and
 * authz-matrix-api-organizations.test.ts have the rest). The table must list exactly the router's
 * routes of this area.
 *
 * As the README states it: reads need repo:read and the pull right, and anyone who may not pull a
 * private repository gets 404, as for a missing one (anonymous callers read public ones); changes
 * need repo:write with the write role (the description) or repo:admin with the admin role
 * (visibility, deletion, permissions), else 403 whether or not the repository exists. Creating
 * needs repo:create and the namespace's owner (in an organization: a creator or admin team). Stars
 * are the caller's own (user:admin), on repositories they can see; others are 404. Superusers hold
 * no repository access, and robots none through the API.
 */
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { repoMirrorConfigs, repositoryStars } from "../../src/db/schema";
import { explicitRole, explicitTeamRole } from "../../src/identity/repository-permissions";
import { findRepository } from "../../src/registry/repositories";
import { starRepository } from "../../src/registry/stars";
import { findOrganization } from "../../src/identity/organizations";
import { findTeam } from "../../src/identity/teams";
import { db } from "./helpers/accounts";
import { streamCell } from "./helpers/event-stream";
import {
  account,
  as,
  BYSTANDER,
  defineMatrix,
  FLIP,
  fresh,
  grantedRepository,
  ORG,
  ORG_ADMIN,
  PRIVATE,
  PUBLIC,
  REPO_ADMINS,
  REPO_READERS,
  REPO_WRITERS,
  ROBOT,
  SIGNED_IN,
  type Ctx,
  type Route,
} from "./authz-matrix-api/harness";

const repository = async (name: string) => (await findRepository(db(), name))!;
const readsPrivate = (ctx: Ctx) => REPO_READERS.includes(ctx.caller.key);
const names = (items: Array<{ namespace: string; name: string }>) => items.map((r) => `${r.namespace}/${r.name}`);

const userRole = async (username: string) =>
  explicitRole(db(), (await repository(PRIVATE)).id, (await account(username)).id);
const spareRole = async () => {
  const spare = (await findTeam(db(), (await findOrganization(db(), ORG))!, "spare"))!;
  return explicitTeamRole(db(), (await repository(PRIVATE)).id, spare.id);
};
const PERMISSIONS = `/repository/${PRIVATE}/permissions`;

const mirrorBody = () => ({
  external_reference: "upstream.example.com/library/alpine",
  sync_interval: 3600,
  sync_start_date: "2099-01-01T00:00:00Z",
  robot_username: ROBOT,
  root_rule: { rule_kind: "tag_glob_csv", rule_value: ["*"] },
});
const mirrorOf = async (name: string) =>
  db()
    .select()
    .from(repoMirrorConfigs)
    .where(eq(repoMirrorConfigs.repositoryId, (await repository(name)).id))
    .get();
/** A new repository of the fixtures' kind, mirrored by the organization's robot. */
async function mirroredRepository(): Promise<string> {
  const name = await grantedRepository();
  await as("owner", "POST", `/repository/${name}/mirror`, mirrorBody());
  return name;
}

async function starred(username: string): Promise<boolean> {
  const [user, repo] = await Promise.all([account(username), repository(PRIVATE)]);
  const row = await db()
    .select()
    .from(repositoryStars)
    .where(and(eq(repositoryStars.userId, user.id), eq(repositoryStars.repositoryId, repo.id)))
    .get();
  return row !== undefined;
}
const unstar = async (username: string) =>
  db()
    .delete(repositoryStars)
    .where(
      and(
        eq(repositoryStars.userId, (await account(username)).id),
        eq(repositoryStars.repositoryId, (await repository(PRIVATE)).id),
      ),
    );
const star = async (username: string, name: string) =>
  starRepository(db(), await account(username), await repository(name));

/** getRepo's rule: whoever may read the repository; others, anonymous callers too, 404. */
const AS_GET_REPO = { scope: "repo:read", allow: REPO_READERS, ok: 200, denied: 404, anonymous: 404 } as const;

const ROUTES: Record<string, Route> = {
  "POST /repository": {
    scope: "repo:create",
    // In `acme` only its admins create: the builders team has the member role.
    allow: ORG_ADMIN,
    ok: 201,
    run: async ({ send }) => {
      const name = fresh("new");
      const res = await send("/repository", {
        namespace: ORG,
        repository: name,
        visibility: "private",
        description: "",
      });
      const found = () => findRepository(db(), `${ORG}/${name}`);
      return {
        res,
        effect: async () => expect(await found()).toBeDefined(),
        unchanged: async () => expect(await found()).toBeUndefined(),
      };
    },
  },
  // Everyone lists; each sees the public repository, and the private one only with access.
  "GET /repository": {
    scope: "repo:read",
    allow: [...SIGNED_IN, "anonymous"],
    ok: 200,
    run: async (ctx) => {
      const res = await ctx.send(`/repository?namespace=${ORG}`);
      return {
        res,
        effect: async () => {
          expect(names(res.json.repositories)).toContain(PUBLIC);
          expect(names(res.json.repositories).includes(PRIVATE)).toBe(readsPrivate(ctx));
        },
      };
    },
  },
  "POST /repository/:repository{.+}/changevisibility": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/repository/${FLIP}/changevisibility`, { visibility: "public" });
      const visibility = async () => (await repository(FLIP)).visibility;
      return {
        res,
        effect: async () => {
          expect(await visibility()).toBe("public");
          await as("owner", "POST", `/repository/${FLIP}/changevisibility`, { visibility: "private" });
        },
        unchanged: async () => expect(await visibility()).toBe("private"),
      };
    },
  },
  // Quay's changeRepoState: the repository's admins (repo:admin); 403 to everyone else.
  "PUT /repository/:repository{.+}/changestate": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const name = await grantedRepository();
      const res = await send(`/repository/${name}/changestate`, { state: "READ_ONLY" });
      const state = async () => (await repository(name)).state;
      return {
        res,
        effect: async () => expect(await state()).toBe("READ_ONLY"),
        unchanged: async () => expect(await state()).toBe("NORMAL"),
      };
    },
  },
  // Quay's mirror.py (`@require_repo_admin`): the repository's admins (repo:admin); 403 to everyone
  // else, whether or not the repository exists. The robot is the organization's.
  "POST /repository/:repository{.+}/mirror": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 201,
    run: async ({ send }) => {
      const name = await grantedRepository();
      const res = await send(`/repository/${name}/mirror`, mirrorBody());
      return {
        res,
        effect: async () => expect(await mirrorOf(name)).toBeDefined(),
        unchanged: async () => expect(await mirrorOf(name)).toBeUndefined(),
      };
    },
  },
  "GET /repository/:repository{.+}/mirror": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const name = await mirroredRepository();
      const res = await send(`/repository/${name}/mirror`);
      return {
        res,
        effect: async () => expect(res.json).toMatchObject({ robot_username: ROBOT, mirror_type: "PULL" }),
      };
    },
  },
  "PUT /repository/:repository{.+}/mirror": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 201,
    run: async ({ send }) => {
      const name = await mirroredRepository();
      const res = await send(`/repository/${name}/mirror`, { sync_interval: 120 });
      const interval = async () => (await mirrorOf(name))!.syncInterval;
      return {
        res,
        effect: async () => expect(await interval()).toBe(120),
        unchanged: async () => expect(await interval()).toBe(3600),
      };
    },
  },
  "POST /repository/:repository{.+}/mirror/sync-now": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 204,
    run: async ({ send }) => {
      const name = await mirroredRepository();
      const res = await send(`/repository/${name}/mirror/sync-now`, {});
      const status = async () => (await mirrorOf(name))!.syncStatus;
      return {
        res,
        effect: async () => expect(await status()).toBe("SYNC_NOW"),
        unchanged: async () => expect(await status()).toBe("NEVER_RUN"),
      };
    },
  },
  "POST /repository/:repository{.+}/mirror/sync-cancel": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 204,
    run: async ({ send }) => {
      const name = await mirroredRepository();
      await as("owner", "POST", `/repository/${name}/mirror/sync-now`, {});
      const res = await send(`/repository/${name}/mirror/sync-cancel`, {});
      const status = async () => (await mirrorOf(name))!.syncStatus;
      return {
        res,
        effect: async () => expect(await status()).toBe("CANCEL"),
        unchanged: async () => expect(await status()).toBe("SYNC_NOW"),
      };
    },
  },
  // Quay's mirrorhealth.py: everything to superusers; a namespace's to its members (the org's
  // admin and teams here); no scope is asked; unknown callers 401.
  "GET /repository/mirror/health": {
    scope: null,
    allow: ["superuser", "orgadmin", "teamwriter", "unscoped"],
    ok: 200,
    // The registry-wide report needs SuperUserPermission, which a token has only with super:user
    // (Quay's allow_if_superuser): the superuser's user:read token is refused it.
    override: { "superuser-unscoped": 403 },
    run: async (ctx) => {
      await mirroredRepository();
      const path = ctx.caller.key.startsWith("superuser")
        ? "/repository/mirror/health"
        : `/repository/mirror/health?namespace=${ORG}`;
      const res = await ctx.send(path);
      return { res, effect: async () => expect(res.json).toMatchObject({ workers: { status: expect.any(String) } }) };
    },
  },
  // The live event stream (Wharf's own): whoever may read the repository; others 404, as getRepo.
  "GET /repository/:repository{.+/.+}/events": {
    ...AS_GET_REPO,
    run: async (ctx) => {
      const res = await streamCell(ctx, `/repository/${PRIVATE}/events`);
      return { res, effect: async () => expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/) };
    },
  },
  "GET /repository/:repository{.+}": {
    ...AS_GET_REPO,
    run: async (ctx) => {
      const res = await ctx.send(`/repository/${PRIVATE}`);
      const key = ctx.caller.key;
      return {
        res,
        effect: async () =>
          expect(res.json).toMatchObject({
            namespace: ORG,
            name: PRIVATE.split("/")[1],
            is_public: false,
            can_write: key !== "reader",
            can_admin: key === "radmin" || key === "orgadmin",
          }),
      };
    },
  },
  "PUT /repository/:repository{.+}": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 200,
    run: async ({ send }) => {
      const before = (await repository(PRIVATE)).description;
      const description = fresh("described by ");
      const res = await send(`/repository/${PRIVATE}`, { description });
      const current = async () => (await repository(PRIVATE)).description;
      return {
        res,
        effect: async () => expect(await current()).toBe(description),
        unchanged: async () => expect(await current()).toBe(before),
      };
    },
  },
  "DELETE /repository/:repository{.+}": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 204,
    run: async ({ send }) => {
      const name = await grantedRepository();
      const res = await send(`/repository/${name}`);
      const found = () => findRepository(db(), name);
      return {
        res,
        effect: async () => expect(await found()).toBeUndefined(),
        unchanged: async () => expect(await found()).toBeDefined(),
      };
    },
  },

  // Permissions: the repository's admins (repo:admin); 403 to everyone else, existing or not.
  "GET /repository/:repository{.+}/permissions/user": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/user/`);
      return {
        res,
        effect: async () => expect(res.json.permissions.reader).toMatchObject({ role: "read", name: "reader" }),
      };
    },
  },
  "GET /repository/:repository{.+}/permissions/user/:username": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/user/writer`);
      return { res, effect: async () => expect(res.json).toMatchObject({ role: "write", name: "writer" }) };
    },
  },
  "PUT /repository/:repository{.+}/permissions/user/:username": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/user/${BYSTANDER}`, { role: "read" });
      return {
        res,
        effect: async () => {
          expect(await userRole(BYSTANDER)).toBe("read");
          await as("owner", "DELETE", `${PERMISSIONS}/user/${BYSTANDER}`);
        },
        unchanged: async () => expect(await userRole(BYSTANDER)).toBeNull(),
      };
    },
  },
  "DELETE /repository/:repository{.+}/permissions/user/:username": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 204,
    run: async ({ send }) => {
      await as("owner", "PUT", `${PERMISSIONS}/user/${BYSTANDER}`, { role: "read" });
      const res = await send(`${PERMISSIONS}/user/${BYSTANDER}`);
      return {
        res,
        effect: async () => expect(await userRole(BYSTANDER)).toBeNull(),
        unchanged: async () => expect(await userRole(BYSTANDER)).toBe("read"),
      };
    },
  },
  "GET /repository/:repository{.+}/permissions/user/:username/transitive": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/user/teamwriter/transitive`);
      // teamwriter holds write through team builders only.
      return { res, effect: async () => expect(res.json).toEqual({ permissions: [{ role: "write" }] }) };
    },
  },
  "GET /repository/:repository{.+}/permissions/team": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/team/`);
      return {
        res,
        effect: async () => expect(res.json.permissions.builders).toMatchObject({ role: "write", name: "builders" }),
      };
    },
  },
  "GET /repository/:repository{.+}/permissions/team/:teamname": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/team/builders`);
      return { res, effect: async () => expect(res.json).toMatchObject({ role: "write", name: "builders" }) };
    },
  },
  "PUT /repository/:repository{.+}/permissions/team/:teamname": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`${PERMISSIONS}/team/spare`, { role: "read" });
      return {
        res,
        effect: async () => {
          expect(await spareRole()).toBe("read");
          await as("owner", "DELETE", `${PERMISSIONS}/team/spare`);
        },
        unchanged: async () => expect(await spareRole()).toBeNull(),
      };
    },
  },
  "DELETE /repository/:repository{.+}/permissions/team/:teamname": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 204,
    run: async ({ send }) => {
      await as("owner", "PUT", `${PERMISSIONS}/team/spare`, { role: "read" });
      const res = await send(`${PERMISSIONS}/team/spare`);
      return {
        res,
        effect: async () => expect(await spareRole()).toBeNull(),
        unchanged: async () => expect(await spareRole()).toBe("read"),
      };
    },
  },

  // Stars: the caller's own. The list hides a star on a repository the caller cannot see (here put
  // there directly, as if access had been lost).
  "GET /user/starred": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async (ctx) => {
      await star(ctx.account, PRIVATE);
      await star(ctx.account, PUBLIC);
      const res = await ctx.send("/user/starred");
      return {
        res,
        effect: async () => {
          expect(names(res.json.repositories)).toContain(PUBLIC);
          expect(names(res.json.repositories).includes(PRIVATE)).toBe(readsPrivate(ctx));
        },
      };
    },
  },
  "POST /user/starred": {
    scope: "user:admin",
    allow: REPO_READERS,
    ok: 201,
    denied: 404,
    run: async ({ send, account: username }) => {
      await unstar(username);
      const [namespace, name] = PRIVATE.split("/");
      const res = await send("/user/starred", { namespace, repository: name });
      return {
        res,
        effect: async () => expect(await starred(username)).toBe(true),
        unchanged: async () => expect(await starred(username)).toBe(false),
      };
    },
  },
  // The star is there for whoever could star it; removing it needs no sight of the repository, but
  // a caller without a star on one they cannot see learns nothing (404).
  "DELETE /user/starred/:repository{.+}": {
    scope: "user:admin",
    allow: REPO_READERS,
    ok: 204,
    denied: 404,
    run: async (ctx) => {
      const holds = ctx.caller.kind !== "user" || readsPrivate(ctx);
      if (holds) await star(ctx.account, PRIVATE);
      else await unstar(ctx.account);
      const res = await ctx.send(`/user/starred/${PRIVATE}`);
      return {
        res,
        effect: async () => expect(await starred(ctx.account)).toBe(false),
        unchanged: async () => expect(await starred(ctx.account)).toBe(holds),
      };
    },
  },
};

defineMatrix("repositories", ROUTES);
