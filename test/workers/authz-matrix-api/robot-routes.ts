/**
 * The robot routes of the /api/v1 authorization matrix, for both owners of robots: the signed-in
 * user's own (`/user/robots`: user:admin, any signed-in user acting on their own robots) and an
 * organization's (`/organization/{orgname}/robots`: org:admin, its admins; its members may list
 * them, without tokens or permissions, as Quay's OrganizationMemberPermission), and their
 * Management-API tokens (./robot-token-routes.ts).
 */
import { expect } from "vitest";
import { listFederation } from "../../../src/identity/robot-federation";
import type { Scope } from "../../../src/identity/scopes";
import { db } from "../helpers/accounts";
import {
  FEDERATION,
  findRobotOf,
  fresh,
  ORG,
  ORG_ADMIN,
  ORG_MEMBERS,
  robot,
  ROBOT,
  robotsNamed,
  SECRET,
  SIGNED_IN,
  type Ctx,
  type Route,
} from "./harness";
import { robotTokenRoutes } from "./robot-token-routes";

/** The table entries of one owner's robot routes, keyed by `METHOD path` as the router registers them. */
export function robotRoutes(base: "/user/robots" | "/organization/:orgname/robots"): Record<string, Route> {
  const isOrg = base !== "/user/robots";
  const scope: Scope = isOrg ? "org:admin" : "user:admin";
  const allow = isOrg ? ORG_ADMIN : SIGNED_IN;
  const url = (rest = "") => `${isOrg ? `/organization/${ORG}/robots` : "/user/robots"}${rest}`;
  const namespace = (ctx: Ctx) => (isOrg ? ORG : ctx.account);
  const prepared = (ctx: Ctx, federated = false) => robot(namespace(ctx), { federated });
  const current = async (ctx: Ctx, shortname: string) => (await findRobotOf(namespace(ctx), shortname))!;
  return {
    [`GET ${base}`]: {
      scope,
      allow: isOrg ? ORG_MEMBERS : SIGNED_IN,
      ok: 200,
      run: async (ctx) => {
        const mine = isOrg ? null : await prepared(ctx);
        const res = await ctx.send(url("?permissions=true"));
        return {
          res,
          effect: async () => {
            const robots = res.json.robots as Array<{ name: string; token?: string; repositories?: string[] }>;
            if (!isOrg) {
              expect(robots.every((r) => r.name.startsWith(`${ctx.account}+`))).toBe(true);
              expect(robots.find((r) => r.name === `${ctx.account}+${mine!.shortname}`)?.token).toEqual(
                expect.any(String),
              );
              return;
            }
            const bot = robots.find((r) => r.name === ROBOT)!;
            if (ctx.caller.key === "orgadmin") {
              expect(bot.token).toEqual(expect.any(String));
              expect(bot.repositories).toContain(SECRET);
            } else {
              expect(bot).not.toHaveProperty("token");
              expect(bot).not.toHaveProperty("repositories");
            }
          },
        };
      },
    },
    [`GET ${base}/:shortname`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const name = isOrg ? ROBOT : `${ctx.account}+${(await prepared(ctx)).shortname}`;
        const res = await ctx.send(url(`/${name.split("+")[1]}`));
        return { res, effect: async () => expect(res.json).toMatchObject({ name, token: expect.any(String) }) };
      },
    },
    [`PUT ${base}/:shortname`]: {
      scope,
      allow,
      ok: 201,
      run: async (ctx) => {
        const shortname = fresh("r");
        const res = await ctx.send(url(`/${shortname}`), {});
        return {
          res,
          effect: async () => expect(await findRobotOf(namespace(ctx), shortname)).toBeDefined(),
          unchanged: async () => expect(await robotsNamed(shortname)).toEqual([]),
        };
      },
    },
    [`POST ${base}/:shortname/regenerate`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const { shortname, robot: before } = await prepared(ctx);
        const res = await ctx.send(url(`/${shortname}/regenerate`));
        const hash = async () => (await current(ctx, shortname)).account.tokenHash;
        return {
          res,
          effect: async () => expect(await hash()).not.toBe(before.account.tokenHash),
          unchanged: async () => expect(await hash()).toBe(before.account.tokenHash),
        };
      },
    },
    [`GET ${base}/:shortname/permissions`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        // The organization's robot holds write on the private repository; a user's new robot nothing.
        const shortname = isOrg ? "bot" : (await prepared(ctx)).shortname;
        const res = await ctx.send(url(`/${shortname}/permissions`));
        const expected = isOrg ? [{ repository: { name: SECRET, is_public: false }, role: "write" }] : [];
        return { res, effect: async () => expect(res.json).toEqual({ permissions: expected }) };
      },
    },
    [`GET ${base}/:shortname/federation`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const { shortname } = await prepared(ctx, true);
        const res = await ctx.send(url(`/${shortname}/federation`));
        return { res, effect: async () => expect(res.json).toEqual([FEDERATION]) };
      },
    },
    [`POST ${base}/:shortname/federation`]: {
      scope,
      allow,
      ok: 200,
      run: async (ctx) => {
        const { shortname } = await prepared(ctx);
        const res = await ctx.send(url(`/${shortname}/federation`), [FEDERATION]);
        const entries = async () => listFederation(db(), await current(ctx, shortname));
        return {
          res,
          effect: async () => expect(await entries()).toEqual([FEDERATION]),
          unchanged: async () => expect(await entries()).toEqual([]),
        };
      },
    },
    [`DELETE ${base}/:shortname/federation`]: {
      scope,
      allow,
      ok: 204,
      run: async (ctx) => {
        const { shortname } = await prepared(ctx, true);
        const res = await ctx.send(url(`/${shortname}/federation`));
        const entries = async () => listFederation(db(), await current(ctx, shortname));
        return {
          res,
          effect: async () => expect(await entries()).toEqual([]),
          unchanged: async () => expect(await entries()).toEqual([FEDERATION]),
        };
      },
    },
    [`DELETE ${base}/:shortname`]: {
      scope,
      allow,
      ok: 204,
      run: async (ctx) => {
        const { shortname } = await prepared(ctx);
        const res = await ctx.send(url(`/${shortname}`));
        const found = () => findRobotOf(namespace(ctx), shortname);
        return {
          res,
          effect: async () => expect(await found()).toBeUndefined(),
          unchanged: async () => expect(await found()).toBeDefined(),
        };
      },
    },
    ...robotTokenRoutes(base),
  };
}
