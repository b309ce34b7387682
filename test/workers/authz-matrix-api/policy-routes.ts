/**
 * The five routes of a scope of tag policies in the /api/v1 authorization matrix, for both kinds
 * (authz-matrix-api-autoprune.test.ts, authz-matrix-api-immutability.test.ts): each cell seeds
 * the scope with one policy, or empties it, and checks what the call did or left untouched.
 */
import { expect } from "vitest";
import type { autoprunePolicies, immutabilityPolicies } from "../../../src/db/schema";
import type { Scope } from "../../../src/identity/scopes";
import { inPolicyScope, namespaceScope, type PolicyScope, repositoryScope } from "../../../src/registry/policy-scope";
import { findRepository } from "../../../src/registry/repositories";
import { db } from "../helpers/accounts";
import { account, type Answer, type Ctx, PRIVATE, type Route, type Who } from "./harness";

/** What the matrix needs of a kind of policy. */
export interface PolicyKind {
  table: typeof autoprunePolicies | typeof immutabilityPolicies;
  /** Stores the one policy a cell starts from; its uuid. */
  seed(scope: PolicyScope): Promise<string>;
  /** The seeded policy as the API shows it. */
  view(uuid: string): Record<string, unknown>;
  /** The scope's policies as `[uuid, value]`: the value tells the seeded policy from a changed one. */
  held(scope: PolicyScope): Promise<unknown[][]>;
  /** The seeded policy's value in {@link held}. */
  seeded: unknown;
  /** The POST's body, and the value it stores. */
  create: { body: Record<string, unknown>; value: unknown };
  /** The PUT's body, and the value it stores. */
  update: { body: Record<string, unknown>; value: unknown };
}

/** The policies of a namespace (`ORG`, or the caller's own) or of the private repository. */
export async function namespacePolicies(username: string): Promise<PolicyScope> {
  return namespaceScope({ id: (await account(username)).id, username });
}

export async function privateRepositoryPolicies(): Promise<PolicyScope> {
  return (await repositoryScope(db(), (await findRepository(db(), PRIVATE))!))!;
}

/** The five routes of one scope; `base` is the concrete path, `key` the router's. */
export function policyRoutes(
  kind: PolicyKind,
  target: (ctx: Ctx) => Promise<PolicyScope>,
  route: { base: string; key: string; scope: Scope; allow: Who[] },
): Record<string, Route> {
  const { base, key, scope, allow } = route;
  const clear = async (where: PolicyScope) => {
    await db().delete(kind.table).where(inPolicyScope(kind.table, where));
  };
  /**
   * A cell that starts from the seeded policy and sends `body` to `path(uuid)`; `effect` checks an
   * allowed call, `unchanged` a refused one (the seeded policy left alone).
   */
  const fromSeeded = (
    ok: number,
    path: (uuid: string) => string,
    body: unknown,
    effect: (res: Answer, uuid: string, where: PolicyScope) => Promise<void>,
    unchanged: (uuid: string, where: PolicyScope) => Promise<void>,
  ): Route => ({
    scope,
    allow,
    ok,
    run: async (ctx) => {
      const where = await target(ctx);
      await clear(where);
      const uuid = await kind.seed(where);
      const res = await ctx.send(path(uuid), body);
      return { res, effect: () => effect(res, uuid, where), unchanged: () => unchanged(uuid, where) };
    },
  });
  const one = (uuid: string) => `${base}/${uuid}`;
  const stillSeeded = async (uuid: string, where: PolicyScope) => {
    expect(await kind.held(where)).toEqual([[uuid, kind.seeded]]);
    await clear(where);
  };
  const cleared = (_uuid: string, where: PolicyScope) => clear(where);
  return {
    [`GET ${key}`]: fromSeeded(
      200,
      () => `${base}/`,
      undefined,
      async (res, uuid, where) => {
        expect(res.json).toEqual({ policies: [kind.view(uuid)] });
        await clear(where);
      },
      cleared,
    ),
    [`POST ${key}`]: {
      scope,
      allow,
      ok: 201,
      run: async (ctx) => {
        const where = await target(ctx);
        await clear(where);
        const res = await ctx.send(`${base}/`, kind.create.body);
        return {
          res,
          effect: async () => {
            expect(await kind.held(where)).toEqual([[res.json.uuid, kind.create.value]]);
            await clear(where);
          },
          unchanged: async () => expect(await kind.held(where)).toEqual([]),
        };
      },
    },
    [`GET ${key}/:policy_uuid`]: fromSeeded(
      200,
      one,
      undefined,
      async (res, uuid, where) => {
        expect(res.json).toEqual(kind.view(uuid));
        await clear(where);
      },
      cleared,
    ),
    [`PUT ${key}/:policy_uuid`]: fromSeeded(
      204,
      one,
      kind.update.body,
      async (_res, uuid, where) => {
        expect(await kind.held(where)).toEqual([[uuid, kind.update.value]]);
        await clear(where);
      },
      stillSeeded,
    ),
    [`DELETE ${key}/:policy_uuid`]: fromSeeded(
      200,
      one,
      undefined,
      async (res, uuid, where) => {
        expect(res.json).toEqual({ uuid });
        expect(await kind.held(where)).toEqual([]);
      },
      stillSeeded,
    ),
  };
}
