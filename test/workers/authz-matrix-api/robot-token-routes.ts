/**
 * The robot Management-API token routes of the /api/v1 authorization matrix, for both owners of
 * robots (`/user/robots/{short}/…`, `/organization/{orgname}/robots/{short}/…`). Quay serves them
 * to a signed-in browser session only (`@require_session_login`), and every caller of the matrix
 * presents a token or nothing: all are refused with Quay's 401 and nothing changes. The session's
 * own cells (the user's robots, the organization's admins; 403 to other members) are in
 * test/workers/api/robot-tokens.test.ts.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { robotApiTokens } from "../../../src/db/schema";
import { createRobotApiToken } from "../../../src/identity/robot-tokens";
import type { Scope } from "../../../src/identity/scopes";
import { db } from "../helpers/accounts";
import { fixtureEvents } from "../helpers/events";
import { account, CALLERS, type CallerKey, type Ctx, ORG, type Route, robot } from "./harness";

/** Every signed-in token of the matrix, with or without the route's scope: Quay's 401. */
const TOKENS_REFUSED: Partial<Record<CallerKey, number>> = Object.fromEntries(
  CALLERS.filter((caller) => caller.kind === "user" || caller.kind === "unscoped").map((caller) => [caller.key, 401]),
);

const tokensOf = async (robotId: number) =>
  db().select().from(robotApiTokens).where(eq(robotApiTokens.robotId, robotId)).all();

export function robotTokenRoutes(base: "/user/robots" | "/organization/:orgname/robots"): Record<string, Route> {
  const isOrg = base !== "/user/robots";
  const scope: Scope = isOrg ? "org:admin" : "user:admin";
  const namespace = (ctx: Ctx) => (isOrg ? ORG : ctx.account);
  const url = (shortname: string, rest: string) =>
    `${isOrg ? `/organization/${ORG}/robots` : "/user/robots"}/${shortname}${rest}`;
  const sessionOnly: Pick<Route, "scope" | "allow" | "override"> = { scope, allow: [], override: TOKENS_REFUSED };
  return {
    [`GET ${base}/:shortname/mintable-scopes`]: {
      ...sessionOnly,
      ok: 200,
      run: async (ctx) => ({ res: await ctx.send(url((await robot(namespace(ctx))).shortname, "/mintable-scopes")) }),
    },
    [`GET ${base}/:shortname/tokens`]: {
      ...sessionOnly,
      ok: 200,
      run: async (ctx) => ({ res: await ctx.send(url((await robot(namespace(ctx))).shortname, "/tokens")) }),
    },
    [`POST ${base}/:shortname/tokens`]: {
      ...sessionOnly,
      ok: 200,
      run: async (ctx) => {
        const made = await robot(namespace(ctx));
        const res = await ctx.send(url(made.shortname, "/tokens"), { name: "matrix", scope: "repo:read" });
        return { res, unchanged: async () => expect(await tokensOf(made.robot.user.id)).toEqual([]) };
      },
    },
    [`DELETE ${base}/:shortname/tokens/:token_uuid`]: {
      ...sessionOnly,
      ok: 204,
      run: async (ctx) => {
        const made = await robot(namespace(ctx));
        const request = { name: "matrix", scope: "repo:read", expirationS: 3600 };
        const creator = await account(isOrg ? "owner" : ctx.account);
        const { token } = await createRobotApiToken(db(), made.robot, creator, request, null, fixtureEvents());
        const res = await ctx.send(url(made.shortname, `/tokens/${token.uuid}`));
        return { res, unchanged: async () => expect(await tokensOf(made.robot.user.id)).toHaveLength(1) };
      },
    },
  };
}
