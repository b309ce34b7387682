/**
 * The /api/v1 authorization matrix of an account's own life (test/workers/authz-matrix-api/harness.ts
 * lists the callers and the rule): signing up, deleting oneself, becoming an organization, recovery,
 * proving the password again, the client key, the user's OAuth authorizations and the requests to
 * grant one (assigned authorizations).
 *
 * - Signing up and recovery need no scope: anyone, anonymous included (a Bearer that resolves to no
 *   one is still 401). Recovery does not exist without mailing: 404 to everyone let in.
 * - The rest acts on the caller's own account with user:admin (Quay's `@require_user_admin`). The
 *   matrix's accounts must survive it, so deleting oneself is asked by the only admin of an
 *   organization (Quay's 400) and converting names the caller itself as admin (Quay's 400): the
 *   call is let through to the account's own rules, and changes nothing.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { accessTokens, oauthAssignedTokens } from "../../src/db/schema";
import { findApplicationByClientId } from "../../src/identity/oauth-applications";
import { issueOAuthToken } from "../../src/identity/tokens";
import { findUser } from "../../src/identity/users";
import { sha256Hex } from "../../src/lib/encoding";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import {
  account,
  ANYONE,
  as,
  type Ctx,
  defineMatrix,
  fresh,
  SIGNED_IN,
  standing,
  type Route,
} from "./authz-matrix-api/harness";

/** A token the organization's standing application holds for `username`; its authorization's uuid. */
async function authorization(username: string): Promise<string> {
  const application = (await findApplicationByClientId(db(), standing.appClientId))!;
  const plain = await issueOAuthToken(
    db(),
    await account(username),
    { scopes: ["repo:read"], application },
    fixtureEvents(),
  );
  const row = await db()
    .select({ uuid: accessTokens.uuid })
    .from(accessTokens)
    .where(eq(accessTokens.tokenHash, await sha256Hex(plain)))
    .get();
  return row!.uuid!;
}

/**
 * A request that `username` authorize the organization's standing application; its uuid. Written
 * as a fixture, since the disabled caller could not be assigned one through the domain.
 */
async function assignment(username: string): Promise<string> {
  const application = (await findApplicationByClientId(db(), standing.appClientId))!;
  const uuid = crypto.randomUUID();
  await db()
    .insert(oauthAssignedTokens)
    .values({
      uuid,
      applicationId: application.id,
      assignedUserId: (await account(username)).id,
      redirectUri: "https://app.example/cb",
      scopes: "repo:read",
    });
  return uuid;
}

const assignmentExists = async (uuid: string) =>
  (await db()
    .select({ id: oauthAssignedTokens.id })
    .from(oauthAssignedTokens)
    .where(eq(oauthAssignedTokens.uuid, uuid))
    .get()) !== undefined;

const tokenExists = async (uuid: string) =>
  (await db().select({ id: accessTokens.id }).from(accessTokens).where(eq(accessTokens.uuid, uuid)).get()) !==
  undefined;

const stateOf = async (username: string) => {
  const user = (await findUser(db(), username))!;
  return { kind: user.kind, deleting: user.deletingSince !== null };
};
const untouched = (username: string) => async () =>
  expect(await stateOf(username)).toEqual({ kind: "user", deleting: false });

/** The caller's own password (what a signed-in caller would type again). */
const ownPassword = ({ caller }: Ctx) => caller.signin().password;

/** A signed-in caller of the matrix other than `username`. */
const someoneElse = (username: string) => (username === "outsider" ? "reader" : "outsider");

/**
 * The list and the revocation of the caller's own grants at `path` (OAuth authorizations, or
 * requests to grant one): `grant` gives `username` one, `exists` says whether it is still there.
 */
function ownGrantRoutes(
  path: string,
  param: string,
  grant: (username: string) => Promise<string>,
  exists: (uuid: string) => Promise<boolean>,
): Record<string, Route> {
  return {
    [`GET ${path}`]: {
      scope: "user:admin",
      allow: SIGNED_IN,
      ok: 200,
      run: async ({ send, account: username }) => {
        const uuid = await grant(username);
        const res = await send(path);
        return {
          res,
          effect: async () =>
            expect((res.json.authorizations as Array<{ uuid: string }>).map((a) => a.uuid)).toContain(uuid),
        };
      },
    },
    [`DELETE ${path}/${param}`]: {
      scope: "user:admin",
      allow: SIGNED_IN,
      ok: 204,
      run: async ({ send, account: username }) => {
        const mine = await grant(username);
        const theirs = await grant(someoneElse(username));
        const res = await send(`${path}/${mine}`);
        return {
          res,
          effect: async () => {
            expect(await exists(mine)).toBe(false);
            expect((await send(`${path}/${theirs}`)).status).toBe(404);
            expect(await exists(theirs)).toBe(true);
          },
          unchanged: async () => expect(await exists(mine)).toBe(true),
        };
      },
    },
  };
}

const ROUTES: Record<string, Route> = {
  "POST /user": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const username = fresh("newcomer");
      const res = await send("/user", { username, password: "newcomer-password" });
      return {
        res,
        effect: async () => {
          expect(res.json.username).toBe(username);
          expect(await findUser(db(), username)).toBeDefined();
        },
        unchanged: async () => expect(await findUser(db(), username)).toBeUndefined(),
      };
    },
  },
  "POST /recovery": {
    scope: null,
    allow: ANYONE,
    ok: 404,
    run: async ({ send }) => ({ res: await send("/recovery", { email: "owner@example.com" }) }),
  },
  "DELETE /user": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 400,
    run: async (ctx) => {
      // The caller becomes the only admin of an organization (the superuser is refused as one).
      if (ctx.caller.kind === "user" || ctx.caller.kind === "unscoped")
        await as(ctx.account, "POST", "/organization", { name: fresh("solo") });
      const res = await ctx.send("/user");
      return {
        res,
        effect: async () => {
          expect(res.json.error_message).toMatch(/only admin for organizations|superuser/);
          await untouched(ctx.account)();
        },
        unchanged: untouched(ctx.account),
      };
    },
  },
  "POST /user/convert": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 400,
    run: async (ctx) => {
      const res = await ctx.send("/user/convert", { adminUser: ctx.account, adminPassword: ownPassword(ctx) });
      return {
        res,
        effect: async () => {
          expect(res.json).toMatchObject({ error_message: "The admin user is not valid", reason: "invaliduser" });
          await untouched(ctx.account)();
        },
        unchanged: untouched(ctx.account),
      };
    },
  },
  "POST /signin/verify": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async (ctx) => {
      const res = await ctx.send("/signin/verify", { password: ownPassword(ctx) });
      return { res, effect: async () => expect(res.json).toEqual({ success: true }) };
    },
  },
  "POST /user/clientkey": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async (ctx) => {
      const res = await ctx.send("/user/clientkey", { password: ownPassword(ctx) });
      return { res, effect: async () => expect(Object.keys(res.json)).toEqual(["key"]) };
    },
  },
  ...ownGrantRoutes("/user/authorizations", ":access_token_uuid", authorization, tokenExists),
  "GET /user/authorizations/:access_token_uuid": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const mine = await authorization(username);
      const theirs = await authorization(someoneElse(username));
      const res = await send(`/user/authorizations/${mine}`);
      return {
        res,
        effect: async () => {
          expect(res.json.uuid).toBe(mine);
          // Someone else's authorization is not found.
          expect((await send(`/user/authorizations/${theirs}`)).status).toBe(404);
        },
      };
    },
  },
  ...ownGrantRoutes("/user/assignedauthorization", ":assigned_authorization_uuid", assignment, assignmentExists),
};

defineMatrix("account-life", ROUTES);
