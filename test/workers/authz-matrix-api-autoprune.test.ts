/**
 * The /api/v1 authorization matrix, auto-prune policies: every `…/autoprunepolicy` route of an
 * organization, the caller's own namespace and a repository, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/policy.py` (and the README): an organization's policies are for its
 * admins with org:admin (anyone else 403, whether or not the organization exists; superusers are
 * not its admins); a repository's for its admins with repo:admin (403 otherwise, existing or not);
 * every signed-in user manages their own namespace's with user:admin. Robots act through /v2 only.
 */
import { and, eq, isNull } from "drizzle-orm";
import { expect } from "vitest";
import { autoprunePolicies } from "../../src/db/schema";
import type { Scope } from "../../src/identity/scopes";
import { createPolicy, listPolicies } from "../../src/registry/autoprune-policies";
import { repositoryScope, type PolicyScope } from "../../src/registry/policy-scope";
import { findRepository } from "../../src/registry/repositories";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import {
  account,
  defineMatrix,
  ORG,
  ORG_ADMIN,
  PRIVATE,
  REPO_ADMINS,
  SIGNED_IN,
  type Ctx,
  type Route,
  type Who,
} from "./authz-matrix-api/harness";

type Kind = "organization" | "user" | "repository";

/** Whose policies a call of `kind` acts on. */
async function scopeOf(kind: Kind, username: string): Promise<PolicyScope> {
  const own = async (name: string) => ({
    namespaceId: (await account(name)).id,
    repositoryId: null,
    namespace: name,
    repositoryName: null,
  });
  if (kind === "organization") return own(ORG);
  if (kind === "user") return own(username);
  return (await repositoryScope(db(), (await findRepository(db(), PRIVATE))!))!;
}

async function clear(scope: PolicyScope): Promise<void> {
  const where =
    scope.repositoryId === null
      ? and(eq(autoprunePolicies.namespaceId, scope.namespaceId), isNull(autoprunePolicies.repositoryId))
      : eq(autoprunePolicies.repositoryId, scope.repositoryId);
  await db().delete(autoprunePolicies).where(where);
}

/** The scope's policies as `[uuid, value]`. */
const held = async (scope: PolicyScope) => (await listPolicies(db(), scope)).map((p) => [p.uuid, JSON.parse(p.value)]);

/** The scope emptied, then holding one policy (keep 3 tags). */
async function onePolicy(scope: PolicyScope): Promise<string> {
  await clear(scope);
  return (
    await createPolicy(
      db(),
      scope,
      { method: "number_of_tags", value: 3, tagPattern: null, tagPatternMatches: true },
      fixtureEvents(),
    )
  ).uuid;
}

/** The five routes of one kind; `base` is the concrete path, `key` the router's. */
function routesOf(kind: Kind, base: string, key: string, scope: Scope, allow: Who[]): Record<string, Route> {
  const target = (ctx: Ctx) => scopeOf(kind, ctx.account);
  return {
    [`GET ${key}`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const where = await target(ctx);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/`);
        return {
          res,
          effect: async () => {
            expect(res.json.policies).toEqual([
              { uuid, method: "number_of_tags", value: 3, tagPattern: null, tagPatternMatches: true },
            ]);
            await clear(where);
          },
          unchanged: () => clear(where),
        };
      },
    },
    [`POST ${key}`]: {
      scope,
      allow,
      ok: 201,
      run: async (ctx) => {
        const where = await target(ctx);
        await clear(where);
        const res = await ctx.send(`${base}/`, {
          method: "creation_date",
          value: "7d",
          tagPattern: "^v",
          tagPatternMatches: true,
        });
        return {
          res,
          effect: async () => {
            expect(await held(where)).toEqual([[res.json.uuid, "7d"]]);
            await clear(where);
          },
          unchanged: async () => expect(await held(where)).toEqual([]),
        };
      },
    },
    [`GET ${key}/:policy_uuid`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const where = await target(ctx);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`);
        return {
          res,
          effect: async () => {
            expect(res.json).toEqual({
              uuid,
              method: "number_of_tags",
              value: 3,
              tagPattern: null,
              tagPatternMatches: true,
            });
            await clear(where);
          },
          unchanged: () => clear(where),
        };
      },
    },
    [`PUT ${key}/:policy_uuid`]: {
      scope,
      allow,
      ok: 204,
      run: async (ctx) => {
        const where = await target(ctx);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`, { method: "number_of_tags", value: 9 });
        return {
          res,
          effect: async () => {
            expect(await held(where)).toEqual([[uuid, 9]]);
            await clear(where);
          },
          unchanged: async () => {
            expect(await held(where)).toEqual([[uuid, 3]]);
            await clear(where);
          },
        };
      },
    },
    [`DELETE ${key}/:policy_uuid`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const where = await target(ctx);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`);
        return {
          res,
          effect: async () => {
            expect(res.json).toEqual({ uuid });
            expect(await held(where)).toEqual([]);
          },
          unchanged: async () => {
            expect(await held(where)).toEqual([[uuid, 3]]);
            await clear(where);
          },
        };
      },
    },
  };
}

const ROUTES: Record<string, Route> = {
  ...routesOf(
    "organization",
    `/organization/${ORG}/autoprunepolicy`,
    "/organization/:orgname/autoprunepolicy",
    "org:admin",
    ORG_ADMIN,
  ),
  // Every signed-in user, on their own namespace (Quay's require_user_admin).
  ...routesOf("user", "/user/autoprunepolicy", "/user/autoprunepolicy", "user:admin", SIGNED_IN),
  ...routesOf(
    "repository",
    `/repository/${PRIVATE}/autoprunepolicy`,
    "/repository/:repository{.+}/autoprunepolicy",
    "repo:admin",
    REPO_ADMINS,
  ),
};

defineMatrix("autoprune", ROUTES);
