/**
 * The /api/v1 authorization matrix, build triggers: every `…/trigger` route against every kind of
 * caller (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/trigger.py` (`require_repo_admin`): the repository's admins with
 * repo:admin. Whoever may not pull the private repository gets 404, as for one that does not
 * exist; its readers and writers, who know it exists, 403 (401 without an API credential). The
 * superuser holds nothing on it: Quay's trigger routes do not let superusers in. Each cell starts
 * from one seeded trigger of the private repository, set up by the caller's own account (Quay's
 * `connected_user`, whom activation and the source helpers require), and checks what the call did
 * or that the trigger and the repository's builds are untouched.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { activateTrigger, createTrigger } from "../../src/builds/triggers";
import { buildTriggers, repositoryBuilds } from "../../src/db/schema";
import { findRepository } from "../../src/registry/repositories";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import {
  type Answer,
  account,
  type Ctx,
  defineMatrix,
  PRIVATE,
  REPO_ADMINS,
  type Route,
} from "./authz-matrix-api/harness";

const KEY = "/repository/:repository{.+}/trigger";
const ONE = `${KEY}/:trigger_uuid`;
const BASE = `/repository/${PRIVATE}/trigger`;
const CONFIG = { build_source: "git@git.example.com:acme/depot.git", dockerfile_path: "/Dockerfile", context: "/" };

const repository = async () => (await findRepository(db(), PRIVATE))!;

/** The private repository's triggers as [uuid, active, enabled], and its build count. */
async function held() {
  const { id } = await repository();
  const triggers = await db().select().from(buildTriggers).where(eq(buildTriggers.repositoryId, id)).all();
  const builds = await db().select().from(repositoryBuilds).where(eq(repositoryBuilds.repositoryId, id)).all();
  return { triggers: triggers.map((t) => [t.uuid, t.isActive, t.enabled]), builds: builds.length };
}

async function clear(): Promise<void> {
  const { id } = await repository();
  await db().delete(repositoryBuilds).where(eq(repositoryBuilds.repositoryId, id));
  await db().delete(buildTriggers).where(eq(buildTriggers.repositoryId, id));
}

/** One trigger of the private repository, set up by the caller's account, active if asked; its uuid. */
async function seed(ctx: Ctx, active: boolean): Promise<string> {
  await clear();
  const repo = await repository();
  const trigger = await createTrigger(db(), env, repo, "custom-git", (await account(ctx.account)).id);
  if (active) await activateTrigger(db(), repo, trigger, CONFIG, null, fixtureEvents());
  return trigger.uuid;
}

/** A cell from a seeded trigger: `effect` checks an allowed call; a refused one leaves the repository as seeded. */
function fromSeeded(
  ok: number,
  active: boolean,
  path: (uuid: string) => string,
  body: unknown,
  effect: (res: Answer, uuid: string) => Promise<void>,
): Route {
  return {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok,
    denied: 404,
    override: { reader: 403, writer: 403, teamwriter: 403 },
    run: async (ctx) => {
      const uuid = await seed(ctx, active);
      const res = await ctx.send(path(uuid), body);
      return {
        res,
        effect: async () => {
          await effect(res, uuid);
          await clear();
        },
        unchanged: async () => {
          expect(await held()).toEqual({ triggers: [[uuid, active, true]], builds: 0 });
          await clear();
        },
      };
    },
  };
}

const one = (uuid: string) => `${BASE}/${uuid}`;
const verb = (name: string) => (uuid: string) => `${one(uuid)}/${name}`;

const ROUTES: Record<string, Route> = {
  [`GET ${KEY}`]: fromSeeded(
    200,
    false,
    () => `${BASE}/`,
    undefined,
    async (res, uuid) => {
      expect(res.json.triggers.map((t: { id: string }) => t.id)).toEqual([uuid]);
    },
  ),
  [`POST ${KEY}`]: fromSeeded(
    201,
    false,
    () => `${BASE}/`,
    { service: "custom-git" },
    async (res, uuid) => {
      expect((await held()).triggers.sort()).toEqual(
        [
          [uuid, false, true],
          [res.json.id, false, true],
        ].sort(),
      );
    },
  ),
  [`GET ${ONE}`]: fromSeeded(200, false, one, undefined, async (res, uuid) => {
    expect(res.json).toMatchObject({ id: uuid, is_active: false });
  }),
  [`PUT ${ONE}`]: fromSeeded(200, true, one, { enabled: false }, async (_res, uuid) => {
    expect(await held()).toEqual({ triggers: [[uuid, true, false]], builds: 0 });
  }),
  [`DELETE ${ONE}`]: fromSeeded(204, false, one, undefined, async () => {
    expect((await held()).triggers).toEqual([]);
  }),
  [`POST ${ONE}/activate`]: fromSeeded(200, false, verb("activate"), { config: CONFIG }, async (_res, uuid) => {
    expect(await held()).toEqual({ triggers: [[uuid, true, true]], builds: 0 });
  }),
  [`POST ${ONE}/start`]: fromSeeded(201, true, verb("start"), { commit_sha: "abcdef1" }, async (res, uuid) => {
    expect(res.json.trigger.id).toBe(uuid);
    expect((await held()).builds).toBe(1);
  }),
  [`GET ${ONE}/builds`]: fromSeeded(200, true, verb("builds"), undefined, async (res) => {
    expect(res.json).toEqual({ builds: [] });
  }),
  [`POST ${ONE}/subdir`]: fromSeeded(200, false, verb("subdir"), {}, async (res) => {
    expect(res.json).toEqual({ dockerfile_paths: [], contextMap: {}, status: "success" });
  }),
  [`POST ${ONE}/analyze`]: fromSeeded(200, false, verb("analyze"), { config: CONFIG }, async (res) => {
    expect(res.json).toEqual({ status: "notimplemented" });
  }),
  [`POST ${ONE}/fields/:field_name`]: fromSeeded(200, true, verb("fields/refs"), undefined, async (res) => {
    expect(res.json).toEqual({ values: [] });
  }),
  [`POST ${ONE}/sources`]: fromSeeded(200, false, verb("sources"), { namespace: "acme" }, async (res) => {
    expect(res.json).toEqual({ sources: [] });
  }),
  [`GET ${ONE}/namespaces`]: fromSeeded(200, false, verb("namespaces"), undefined, async (res) => {
    expect(res.json).toEqual({ namespaces: [] });
  }),
};

defineMatrix("triggers", ROUTES);
