/**
 * The /api/v1 authorization matrix, the caller's own account and the installation: `/user…`
 * (but stars), sign-in, initialization, discovery and `/superuser/…`, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule). Organizations are in
 * authz-matrix-api-organizations.test.ts, repositories and stars in
 * authz-matrix-api-repositories.test.ts; together the three tables list exactly the router's routes.
 *
 * Each entry names who is let in and with which status; everyone else is refused on purpose: 401
 * without a usable credential, 403 without the scope or the right.
 * - The caller's own account (`/user`, `/user/apptoken`, `/user/robots`): any signed-in user with
 *   the scope, acting on their own things (someone else's token is 404).
 * - Sign-in, sign-out, discovery and initialization need no scope: anyone, anonymous included (a
 *   Bearer that resolves to no one is still 401).
 * - `/superuser/…`: only a superuser's token with super:user (everyone's tokens here hold
 *   super:user: only SUPER_USERS makes it count).
 */
import { and, count, eq } from "drizzle-orm";
import { expect } from "vitest";
import { federatedLogins, users } from "../../src/db/schema";
import { findAppToken } from "../../src/identity/app-tokens";
import { SESSION_COOKIE } from "../../src/identity/sessions";
import { findUser } from "../../src/identity/users";
import { db, makeUser, tokenFor } from "./helpers/accounts";
import {
  account,
  ANYONE,
  appToken,
  appTokenTitled,
  BYSTANDER,
  defineMatrix,
  fresh,
  ORG,
  SECRET,
  SIGNED_IN,
  SUPERUSER,
  standing,
  type Route,
} from "./authz-matrix-api/harness";
import { robotRoutes } from "./authz-matrix-api/robot-routes";

const usersCount = async () => (await db().select({ n: count() }).from(users).get())!.n;
const restoreEmail = (username: string) =>
  db()
    .update(users)
    .set({ email: `${username}@example.com` })
    .where(eq(users.username, username));

const ROUTES: Record<string, Route> = {
  // Initialization: open to anyone, refused (Quay's 400) to everyone once an account exists.
  "POST /user/initialize": {
    scope: null,
    allow: ANYONE,
    ok: 400,
    run: async ({ send }) => {
      const before = await usersCount();
      const res = await send("/user/initialize", {
        username: "admin",
        password: "another-password",
        email: "again@example.com",
        access_token: true,
      });
      const nothingNew = async () => expect(await usersCount()).toBe(before);
      return {
        res,
        effect: async () => {
          expect(res.json.error_message).toBe("Cannot initialize user in a non-empty database");
          expect(res.json).not.toHaveProperty("access_token");
          await nothingNew();
        },
        unchanged: nothingNew,
      };
    },
  },

  // The caller's own account.
  "GET /user": {
    scope: "user:read",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account }) => {
      const res = await send("/user");
      return { res, effect: async () => expect(res.json.username).toBe(account) };
    },
  },
  "PUT /user": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const email = `${username}.${fresh("e")}@example.com`;
      const res = await send("/user", { email });
      const holders = () => db().select({ username: users.username }).from(users).where(eq(users.email, email)).all();
      return {
        res,
        effect: async () => {
          expect(res.json.username).toBe(username);
          expect(await holders()).toEqual([{ username }]);
          await restoreEmail(username);
        },
        unchanged: async () => expect(await holders()).toEqual([]),
      };
    },
  },
  "GET /user/apptoken": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      await appToken(username);
      const res = await send("/user/apptoken");
      return {
        res,
        effect: async () => {
          const titles = (res.json.tokens as Array<{ title: string }>).map((t) => t.title);
          expect(titles.length).toBeGreaterThan(0);
          expect(titles.filter((t) => !t.startsWith(`${username}:`))).toEqual([]);
        },
      };
    },
  },
  "POST /user/apptoken": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const title = `${username}:${fresh("t")}`;
      const res = await send("/user/apptoken", { title });
      return {
        res,
        effect: async () =>
          expect((await appTokenTitled(title)).map((t) => t.userId)).toEqual([(await account(username)).id]),
        unchanged: async () => expect(await appTokenTitled(title)).toEqual([]),
      };
    },
  },
  "GET /user/apptoken/:uuid": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const mine = await appToken(username);
      const theirs = await appToken(username === "outsider" ? "reader" : "outsider");
      const res = await send(`/user/apptoken/${mine.uuid}`);
      return {
        res,
        effect: async () => {
          expect(res.json.token).toMatchObject({ uuid: mine.uuid, token_code: mine.code });
          // Someone else's token is not found.
          expect((await send(`/user/apptoken/${theirs.uuid}`)).status).toBe(404);
        },
      };
    },
  },
  "DELETE /user/apptoken/:uuid": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 204,
    run: async ({ send, account: username }) => {
      const mine = await appToken(username);
      const other = username === "outsider" ? "reader" : "outsider";
      const theirs = await appToken(other);
      const res = await send(`/user/apptoken/${mine.uuid}`);
      const exists = async (who: string, uuid: string) =>
        (await findAppToken(db(), await account(who), uuid)) !== undefined;
      return {
        res,
        effect: async () => {
          expect(await exists(username, mine.uuid)).toBe(false);
          expect((await send(`/user/apptoken/${theirs.uuid}`)).status).toBe(404);
          expect(await exists(other, theirs.uuid)).toBe(true);
        },
        unchanged: async () => expect(await exists(username, mine.uuid)).toBe(true),
      };
    },
  },

  // Browser sessions: no scope. Each caller signs in with its own credentials (anonymous: a user's);
  // a robot's are refused with Quay's invalidCredentials 403, as any non-password credential is.
  "POST /signin": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    override: { "robot-basic": 403 },
    run: async ({ send, caller }) => {
      const res = await send("/signin", caller.signin());
      return {
        res,
        effect: async () => {
          expect(res.json).toEqual({ success: true });
          expect(res.headers.get("Set-Cookie")).toContain(`${SESSION_COOKIE}=`);
        },
        unchanged: async () => expect(res.headers.get("Set-Cookie")).toBeNull(),
      };
    },
  },
  "POST /signout": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/signout");
      return { res, effect: async () => expect(res.json).toEqual({ success: true }) };
    },
  },
  // External sign-in (issue #17). This matrix runs without OIDC_PROVIDERS, so asking for any
  // provider's URL is Quay's 404 to anyone who reaches the route; external-login.test.ts runs the
  // flow against a configured fake provider.
  "POST /externallogin/:service_id": {
    scope: null,
    allow: ANYONE,
    ok: 404,
    run: async ({ send }) => {
      const res = await send("/externallogin/sso", { kind: "login" });
      return { res, effect: async () => expect(res.json.error_type).toBe("not_found") };
    },
  },
  "POST /detachexternal/:service_id": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const user = await account(username);
      const linked = () =>
        db()
          .select()
          .from(federatedLogins)
          .where(and(eq(federatedLogins.userId, user.id), eq(federatedLogins.serviceId, "sso")))
          .all();
      if ((await linked()).length === 0)
        await db()
          .insert(federatedLogins)
          .values({ userId: user.id, serviceId: "sso", subject: fresh("subject") });
      const res = await send("/detachexternal/sso");
      return {
        res,
        effect: async () => expect(await linked()).toEqual([]),
        unchanged: async () => expect(await linked()).toHaveLength(1),
      };
    },
  },
  "GET /discovery": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/discovery");
      return { res, effect: async () => expect(res.json.swagger).toBe("2.0") };
    },
  },
  "GET /openapi.json": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/openapi.json");
      return { res, effect: async () => expect(res.json.openapi).toBe("3.1.0") };
    },
  },
  // What the registry says of itself: open to anyone, as in Quay.
  "GET /error/:error_type": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/error/not_found");
      return { res, effect: async () => expect(res.json.title).toBe("not_found") };
    },
  },
  "GET /registry/capabilities": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/registry/capabilities");
      return { res, effect: async () => expect(res.json.sparse_manifests.supported).toBe(false) };
    },
  },

  // Public views by name: anyone, anonymous included; the viewer's standing adds fields.
  "GET /users/:username": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/users/${BYSTANDER}`);
      return {
        res,
        effect: async () => {
          expect(res.json).toMatchObject({ anonymous: false, username: BYSTANDER });
          expect(res.json).not.toHaveProperty("email");
        },
      };
    },
  },
  "GET /app/:client_id": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send(`/app/${standing.appClientId}`);
      return {
        res,
        effect: async () => {
          expect(res.json).toMatchObject({ name: "acme-app", organization: { name: "acme", teams: {} } });
          expect(res.json.organization.is_admin).toBe(caller.key === "orgadmin");
          expect(res.json).not.toHaveProperty("client_secret");
        },
      };
    },
  },
  // Search: people for anyone; an organization's teams to its members (a token's scopes capping
  // the role); repositories only as the caller may read them (repo:read, else public ones).
  "GET /entities/:prefix": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send(`/entities/b?namespace=${ORG}&includeTeams=true`);
      return {
        res,
        effect: async () => {
          const names = (res.json.results as Array<{ name: string }>).map((r) => r.name);
          expect(names.includes("builders")).toBe(caller.key === "orgadmin" || caller.key === "teamwriter");
          expect(names).toContain(BYSTANDER);
        },
      };
    },
  },
  "GET /find/repositories": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send("/find/repositories?query=depot");
      return {
        res,
        effect: async () => {
          const names = (res.json.results as Array<{ name: string }>).map((r) => r.name);
          expect(names).toContain("open-depot");
          expect(names.includes(SECRET)).toBe(caller.seesPrivate && caller.kind === "user");
        },
      };
    },
  },
  "GET /find/all": {
    scope: "repo:read",
    allow: [...SIGNED_IN, "anonymous"],
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send("/find/all?query=depot");
      return {
        res,
        effect: async () => {
          const names = (res.json.results as Array<{ name: string }>).map((r) => r.name);
          expect(names).toContain("open-depot");
          expect(names.includes(SECRET)).toBe(caller.seesPrivate);
        },
      };
    },
  },

  ...robotRoutes("/user/robots"),

  // Superuser user management: the superuser's super:user token only.
  "GET /superuser/users": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/superuser/users");
      return {
        res,
        effect: async () =>
          expect((res.json.users as Array<{ username: string }>).map((u) => u.username)).toContain("outsider"),
      };
    },
  },
  "POST /superuser/users": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const username = fresh("user");
      const res = await send("/superuser/users", { username, email: `${username}@example.com` });
      return {
        res,
        effect: async () => expect(await findUser(db(), username)).toBeDefined(),
        unchanged: async () => expect(await findUser(db(), username)).toBeUndefined(),
      };
    },
  },
  "GET /superuser/users/:username": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/superuser/users/${BYSTANDER}`);
      return {
        res,
        effect: async () => expect(res.json).toMatchObject({ username: BYSTANDER, email: `${BYSTANDER}@example.com` }),
      };
    },
  },
  "PUT /superuser/users/:username": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const email = `${BYSTANDER}.${fresh("e")}@example.com`;
      const res = await send(`/superuser/users/${BYSTANDER}`, { email });
      const current = async () => (await account(BYSTANDER)).email;
      return {
        res,
        effect: async () => {
          expect(await current()).toBe(email);
          await restoreEmail(BYSTANDER);
        },
        unchanged: async () => expect(await current()).toBe(`${BYSTANDER}@example.com`),
      };
    },
  },
  // Quay's @show_if(FEATURE_MAILING): with mailing off, as here, a superuser meets 404 (the mail is
  // sent in test/workers/mail/recovery-mail.test.ts).
  "POST /superusers/users/:username/sendrecovery": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 404,
    run: async ({ send }) => ({ res: await send(`/superusers/users/${fresh("user")}/sendrecovery`) }),
  },
  "DELETE /superuser/users/:username": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const username = fresh("user");
      await makeUser(await tokenFor("admin", ["super:user"]), username);
      const res = await send(`/superuser/users/${username}`);
      // Deleted: hidden and disabled at once, purged from the queue later (namespace-deletion.ts).
      const state = async () => {
        const user = await findUser(db(), username);
        return user ? { deleting: user.deletingSince !== null, enabled: user.enabled } : null;
      };
      return {
        res,
        effect: async () => expect(await state()).toEqual({ deleting: true, enabled: false }),
        unchanged: async () => expect(await state()).toEqual({ deleting: false, enabled: true }),
      };
    },
  },
};

defineMatrix("accounts", ROUTES);
