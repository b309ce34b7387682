/**
 * The /api/v1 authorization matrix, immutability policies: every `…/immutabilitypolicy` route of
 * an organization and of a repository, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/immutability_policy.py` (and the README): an organization's policies are
 * for its admins with org:admin (anyone else 403, whether or not the organization exists;
 * superusers are not its admins); a repository's for its admins with repo:admin (403 otherwise,
 * existing or not). Robots act through /v2 only.
 */
import { and, eq, isNull } from "drizzle-orm";
import { expect } from "vitest";
import { immutabilityPolicies } from "../../src/db/schema";
import type { Scope } from "../../src/identity/scopes";
import { type PolicyScope, repositoryScope } from "../../src/registry/policy-scope";
import { createImmutabilityPolicy, listImmutabilityPolicies } from "../../src/registry/immutability-policies";
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
  type Route,
  type Who,
} from "./authz-matrix-api/harness";

type Kind = "organization" | "repository";

async function scopeOf(kind: Kind): Promise<PolicyScope> {
  if (kind === "organization")
    return { namespaceId: (await account(ORG)).id, repositoryId: null, namespace: ORG, repositoryName: null };
  return (await repositoryScope(db(), (await findRepository(db(), PRIVATE))!))!;
}

async function clear(scope: PolicyScope): Promise<void> {
  const where =
    scope.repositoryId === null
      ? and(eq(immutabilityPolicies.namespaceId, scope.namespaceId), isNull(immutabilityPolicies.repositoryId))
      : eq(immutabilityPolicies.repositoryId, scope.repositoryId);
  await db().delete(immutabilityPolicies).where(where);
}

/** The scope's policies as `[uuid, tagPattern]`. */
const held = async (scope: PolicyScope) =>
  (await listImmutabilityPolicies(db(), scope)).map((p) => [p.uuid, p.tagPattern]);

/** The scope emptied, then holding one policy (a pattern no fixture tag matches). */
async function onePolicy(scope: PolicyScope): Promise<string> {
  await clear(scope);
  const config = { tagPattern: "^frozen-", tagPatternMatches: true };
  return (await createImmutabilityPolicy(db(), scope, config, fixtureEvents())).uuid;
}

function routesOf(kind: Kind, base: string, key: string, scope: Scope, allow: Who[]): Record<string, Route> {
  const view = (uuid: string, tagPattern = "^frozen-") => ({ uuid, tagPattern, tagPatternMatches: true });
  return {
    [`GET ${key}`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const where = await scopeOf(kind);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/`);
        return {
          res,
          effect: async () => {
            expect(res.json).toEqual({ policies: [view(uuid)] });
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
        const where = await scopeOf(kind);
        await clear(where);
        const res = await ctx.send(`${base}/`, { tagPattern: "^sealed-" });
        return {
          res,
          effect: async () => {
            expect(await held(where)).toEqual([[res.json.uuid, "^sealed-"]]);
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
        const where = await scopeOf(kind);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`);
        return {
          res,
          effect: async () => {
            expect(res.json).toEqual(view(uuid));
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
        const where = await scopeOf(kind);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`, { tagPattern: "^sealed-" });
        return {
          res,
          effect: async () => {
            expect(await held(where)).toEqual([[uuid, "^sealed-"]]);
            await clear(where);
          },
          unchanged: async () => {
            expect(await held(where)).toEqual([[uuid, "^frozen-"]]);
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
        const where = await scopeOf(kind);
        const uuid = await onePolicy(where);
        const res = await ctx.send(`${base}/${uuid}`);
        return {
          res,
          effect: async () => {
            expect(res.json).toEqual({ uuid });
            expect(await held(where)).toEqual([]);
          },
          unchanged: async () => {
            expect(await held(where)).toEqual([[uuid, "^frozen-"]]);
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
    `/organization/${ORG}/immutabilitypolicy`,
    "/organization/:orgname/immutabilitypolicy",
    "org:admin",
    ORG_ADMIN,
  ),
  ...routesOf(
    "repository",
    `/repository/${PRIVATE}/immutabilitypolicy`,
    "/repository/:repository{.+}/immutabilitypolicy",
    "repo:admin",
    REPO_ADMINS,
  ),
};

defineMatrix("immutability", ROUTES);
