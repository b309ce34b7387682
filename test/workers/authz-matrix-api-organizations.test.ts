/**
 * The /api/v1 authorization matrix, organizations: `/organization…` (settings, members, teams and
 * invitations, OAuth applications, default permissions, robots) and `/teaminvite/…`, against every
 * kind of caller (test/workers/authz-matrix-api/harness.ts lists them and the rule). The table must
 * list exactly the router's routes of this area.
 *
 * - Creating an organization: any signed-in user (user:admin), who owns it.
 * - Its public view: anyone, anonymous included; members also see its teams, admins its settings.
 * - Everything else: its admins with org:admin (Quay's AdministerOrganizationPermission), 403 to
 *   anyone else whether or not the organization or the thing in it exists; superusers are not
 *   admins of it (nor of its OAuth applications' tokens). A team's own members may list its
 *   members (Quay's ViewTeamPermission, without pending invitations), and the organization's
 *   members its robots (without tokens).
 * - Invitations, on the invitee's side: any signed-in user (user:admin) accepting or declining
 *   their own.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { accessTokens, oauthApplications, users } from "../../src/db/schema";
import { findOrganization, organizationRole } from "../../src/identity/organizations";
import { findPrototype, listPrototypes } from "../../src/identity/prototypes";
import { inviteEmail, listTeamInvites } from "../../src/identity/team-invites";
import { findTeam } from "../../src/identity/teams";
import { findUser } from "../../src/identity/users";
import { db, makeUser, tokenFor } from "./helpers/accounts";
import { streamCell } from "./helpers/event-stream";
import { fixtureEvents } from "./helpers/events";
import {
  account,
  ANYONE,
  as,
  BYSTANDER,
  defineMatrix,
  fresh,
  isMember,
  ORG,
  ORG_ADMIN,
  ORG_MEMBERS,
  replicaOrganization,
  SECRET,
  SIDE,
  SIGNED_IN,
  standing,
  team,
  type Route,
} from "./authz-matrix-api/harness";
import { robotRoutes } from "./authz-matrix-api/robot-routes";

const teamOf = async (org: string, name: string) => findTeam(db(), (await findOrganization(db(), org))!, name);
const pendingInvites = async (org: string, name: string) => {
  const found = await teamOf(org, name);
  return found ? (await listTeamInvites(db(), found)).length : 0;
};
const applicationsNamed = (name: string) =>
  db().select().from(oauthApplications).where(eq(oauthApplications.name, name)).all();
const prototypeOf = async (id: string) => findPrototype(db(), (await findOrganization(db(), ORG))!, id);
/** How many tokens the application `clientId` holds. */
const applicationTokens = async (clientId: string) =>
  (
    await db()
      .select({ id: accessTokens.id })
      .from(accessTokens)
      .innerJoin(oauthApplications, eq(oauthApplications.id, accessTokens.applicationId))
      .where(eq(oauthApplications.clientId, clientId))
      .all()
  ).length;
const newApplication = async () =>
  (await as("owner", "POST", `/organization/${ORG}/applications`, { name: fresh("app") })).json as {
    client_id: string;
    client_secret: string;
    name: string;
  };
const newPrototype = async () =>
  (
    await as("owner", "POST", `/organization/${ORG}/prototypes`, {
      role: "read",
      delegate: { name: "spare", kind: "team" },
      activating_user: { name: BYSTANDER },
    })
  ).json.id as string;

/** A fresh team of SIDE inviting `username`'s email, and the code Quay would mail them. */
async function sideInvite(username: string): Promise<{ name: string; code: string }> {
  const name = await team([], SIDE, BYSTANDER);
  const { code } = await inviteEmail(
    db(),
    (await findOrganization(db(), SIDE))!,
    (await teamOf(SIDE, name))!,
    await account(BYSTANDER),
    (await account(username)).email!,
    fixtureEvents(),
    null,
  );
  return { name, code };
}

const ROUTES: Record<string, Route> = {
  // Organizations.
  "POST /organization": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 201,
    run: async ({ send, account: username }) => {
      const name = fresh("org");
      const res = await send("/organization", { name });
      return {
        res,
        effect: async () => expect(await organizationRole(db(), (await account(username)).id, name)).toBe("admin"),
        unchanged: async () => expect(await findUser(db(), name)).toBeUndefined(),
      };
    },
  },
  // Anyone sees the public part; members its teams; admins (with org:admin) its settings.
  "GET /organization/:orgname": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send(`/organization/${ORG}`);
      const isAdmin = caller.key === "orgadmin";
      const isMember = isAdmin || caller.key === "teamwriter";
      return {
        res,
        effect: async () => {
          expect(res.json).toMatchObject({
            name: ORG,
            is_admin: isAdmin,
            is_member: isMember,
            email: isAdmin ? (await account(ORG)).email : "",
          });
          expect("teams" in res.json).toBe(isMember);
          expect("tag_expiration_s" in res.json).toBe(isAdmin);
        },
      };
    },
  },
  // The live event stream (Wharf's own): the organization's members, with repo:read.
  "GET /organization/:orgname/events": {
    scope: "repo:read",
    allow: ORG_MEMBERS,
    ok: 200,
    run: async (ctx) => {
      const res = await streamCell(ctx, `/organization/${ORG}/events`);
      return { res, effect: async () => expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/) };
    },
  },
  "PUT /organization/:orgname": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const expiration = async () => (await account(ORG)).tagExpirationS;
      const reset = () => db().update(users).set({ tagExpirationS: 1_209_600 }).where(eq(users.username, ORG));
      await reset();
      const res = await send(`/organization/${ORG}`, { tag_expiration_s: 86_400 });
      return {
        res,
        effect: async () => {
          expect(await expiration()).toBe(86_400);
          await reset();
        },
        unchanged: async () => expect(await expiration()).toBe(1_209_600),
      };
    },
  },
  "DELETE /organization/:orgname": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const name = await replicaOrganization();
      const res = await send(`/organization/${name}`);
      const found = () => findOrganization(db(), name);
      return {
        res,
        effect: async () => expect(await found()).toBeUndefined(),
        unchanged: async () => expect(await found()).toBeDefined(),
      };
    },
  },
  "GET /organization/:orgname/members": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/members`);
      return {
        res,
        effect: async () =>
          expect((res.json.members as Array<{ name: string }>).map((m) => m.name)).toEqual(
            expect.arrayContaining(["owner", "teamwriter"]),
          ),
      };
    },
  },
  "GET /organization/:orgname/members/:membername": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/members/teamwriter`);
      return {
        res,
        effect: async () =>
          expect(res.json).toMatchObject({ name: "teamwriter", kind: "user", teams: [{ name: "builders" }] }),
      };
    },
  },
  "DELETE /organization/:orgname/members/:membername": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      // A person of their own in a team of their own, so no other cell's standing changes.
      const username = fresh("member");
      await makeUser(await tokenFor("admin", ["super:user"]), username);
      const name = await team([username]);
      const res = await send(`/organization/${ORG}/members/${username}`);
      const member = () => isMember(ORG, name, username);
      return {
        res,
        effect: async () => expect(await member()).toBe(false),
        unchanged: async () => expect(await member()).toBe(true),
      };
    },
  },
  "GET /organization/:orgname/collaborators": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/collaborators`);
      const names = () => (res.json.collaborators as Array<{ name: string }>).map((m) => m.name);
      return {
        res,
        effect: async () => expect(names()).toEqual(expect.arrayContaining(["reader", "writer", "radmin"])),
      };
    },
  },

  // Teams: the organization's admins; a team's members may list its members.
  "PUT /organization/:orgname/team/:teamname": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const name = fresh("team");
      const res = await send(`/organization/${ORG}/team/${name}`, { role: "member" });
      return {
        res,
        effect: async () => {
          expect(res.json).toMatchObject({ name, new_team: true });
          expect(await teamOf(ORG, name)).toBeDefined();
        },
        unchanged: async () => expect(await teamOf(ORG, name)).toBeUndefined(),
      };
    },
  },
  "DELETE /organization/:orgname/team/:teamname": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const name = await team([BYSTANDER]);
      const res = await send(`/organization/${ORG}/team/${name}`);
      return {
        res,
        effect: async () => expect(await teamOf(ORG, name)).toBeUndefined(),
        unchanged: async () => expect(await isMember(ORG, name, BYSTANDER)).toBe(true),
      };
    },
  },
  "GET /organization/:orgname/team/:teamname/members": {
    scope: "org:admin",
    allow: ORG_MEMBERS,
    ok: 200,
    run: async ({ send, caller }) => {
      const res = await send(`/organization/${ORG}/team/builders/members?includePending=true`);
      const isAdmin = caller.key === "orgadmin";
      return {
        res,
        effect: async () => {
          const members = res.json.members as Array<{ name?: string; kind: string }>;
          expect(members.map((m) => m.name)).toContain("teamwriter");
          // Pending invitations only for those who could cancel them.
          expect(members.some((m) => m.kind === "invite")).toBe(isAdmin);
          expect(res.json.can_edit).toBe(isAdmin);
        },
      };
    },
  },
  "PUT /organization/:orgname/team/:teamname/members/:membername": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const name = await team();
      const res = await send(`/organization/${ORG}/team/${name}/members/${BYSTANDER}`);
      const member = () => isMember(ORG, name, BYSTANDER);
      return {
        res,
        effect: async () => expect(await member()).toBe(true),
        unchanged: async () => expect(await member()).toBe(false),
      };
    },
  },
  "DELETE /organization/:orgname/team/:teamname/members/:membername": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const name = await team([BYSTANDER]);
      const res = await send(`/organization/${ORG}/team/${name}/members/${BYSTANDER}`);
      const member = () => isMember(ORG, name, BYSTANDER);
      return {
        res,
        effect: async () => expect(await member()).toBe(false),
        unchanged: async () => expect(await member()).toBe(true),
      };
    },
  },
  "PUT /organization/:orgname/team/:teamname/invite/:email": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const name = await team();
      const res = await send(`/organization/${ORG}/team/${name}/invite/${fresh("invitee")}@example.com`);
      return {
        res,
        effect: async () => expect(await pendingInvites(ORG, name)).toBe(1),
        unchanged: async () => expect(await pendingInvites(ORG, name)).toBe(0),
      };
    },
  },
  "DELETE /organization/:orgname/team/:teamname/invite/:email": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const name = await team();
      const email = `${fresh("invitee")}@example.com`;
      await as("owner", "PUT", `/organization/${ORG}/team/${name}/invite/${email}`);
      const res = await send(`/organization/${ORG}/team/${name}/invite/${email}`);
      return {
        res,
        effect: async () => expect(await pendingInvites(ORG, name)).toBe(0),
        unchanged: async () => expect(await pendingInvites(ORG, name)).toBe(1),
      };
    },
  },
  // Quay's TeamPermissions: admins only, not the team's members.
  "GET /organization/:orgname/team/:teamname/permissions": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/team/builders/permissions`);
      return {
        res,
        effect: async () =>
          expect(res.json.permissions).toContainEqual({
            repository: { name: SECRET, is_public: false },
            role: "write",
          }),
      };
    },
  },

  // Invitations, on the invitee's side: any signed-in user accepting or declining their own.
  "PUT /teaminvite/:code": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 200,
    run: async ({ send, account: username }) => {
      const { name, code } = await sideInvite(username);
      const res = await send(`/teaminvite/${code}`);
      return {
        res,
        effect: async () => {
          expect(res.json).toEqual({ org: SIDE, team: name });
          expect(await isMember(SIDE, name, username)).toBe(true);
          await as(BYSTANDER, "DELETE", `/organization/${SIDE}/team/${name}`);
        },
        unchanged: async () => {
          expect(await isMember(SIDE, name, username)).toBe(false);
          expect(await pendingInvites(SIDE, name)).toBe(1);
        },
      };
    },
  },
  "DELETE /teaminvite/:code": {
    scope: "user:admin",
    allow: SIGNED_IN,
    ok: 204,
    run: async ({ send, account: username }) => {
      const { name, code } = await sideInvite(username);
      const res = await send(`/teaminvite/${code}`);
      return {
        res,
        effect: async () => {
          expect(await pendingInvites(SIDE, name)).toBe(0);
          expect(await isMember(SIDE, name, username)).toBe(false);
        },
        unchanged: async () => expect(await pendingInvites(SIDE, name)).toBe(1),
      };
    },
  },

  // OAuth applications: the organization's admins.
  "GET /organization/:orgname/applications": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/applications`);
      return {
        res,
        effect: async () =>
          expect((res.json.applications as Array<{ client_id: string }>).map((a) => a.client_id)).toContain(
            standing.appClientId,
          ),
      };
    },
  },
  "POST /organization/:orgname/applications": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const name = fresh("app");
      const res = await send(`/organization/${ORG}/applications`, { name });
      return {
        res,
        effect: async () => expect(await applicationsNamed(name)).toHaveLength(1),
        unchanged: async () => expect(await applicationsNamed(name)).toEqual([]),
      };
    },
  },
  "GET /organization/:orgname/applications/:client_id": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/applications/${standing.appClientId}`);
      return {
        res,
        effect: async () =>
          expect(res.json).toMatchObject({ client_id: standing.appClientId, client_secret: expect.any(String) }),
      };
    },
  },
  "PUT /organization/:orgname/applications/:client_id": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const app = await newApplication();
      const name = fresh("renamed");
      const res = await send(`/organization/${ORG}/applications/${app.client_id}`, {
        name,
        redirect_uri: "http://localhost/cb",
        application_uri: "http://localhost",
      });
      return {
        res,
        effect: async () => expect(await applicationsNamed(name)).toHaveLength(1),
        unchanged: async () => expect(await applicationsNamed(app.name)).toHaveLength(1),
      };
    },
  },
  "DELETE /organization/:orgname/applications/:client_id": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const app = await newApplication();
      const res = await send(`/organization/${ORG}/applications/${app.client_id}`);
      return {
        res,
        effect: async () => expect(await applicationsNamed(app.name)).toEqual([]),
        unchanged: async () => expect(await applicationsNamed(app.name)).toHaveLength(1),
      };
    },
  },
  "POST /organization/:orgname/applications/:client_id/resetclientsecret": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const app = await newApplication();
      const res = await send(`/organization/${ORG}/applications/${app.client_id}/resetclientsecret`);
      const secret = async () =>
        (await as("owner", "GET", `/organization/${ORG}/applications/${app.client_id}`)).json.client_secret;
      return {
        res,
        effect: async () => expect(await secret()).not.toBe(app.client_secret),
        unchanged: async () => expect(await secret()).toBe(app.client_secret),
      };
    },
  },

  // Tokens of an OAuth application: the organization's admins.
  "GET /organization/:orgname/applications/:client_id/tokens": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/applications/${standing.appClientId}/tokens`);
      return { res, effect: async () => expect(res.json.tokens).toEqual(expect.any(Array)) };
    },
  },
  "POST /organization/:orgname/applications/:client_id/tokens": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const app = await newApplication();
      const res = await send(`/organization/${ORG}/applications/${app.client_id}/tokens`, { scope: "repo:read" });
      return {
        res,
        effect: async () => expect(await applicationTokens(app.client_id)).toBe(1),
        unchanged: async () => expect(await applicationTokens(app.client_id)).toBe(0),
      };
    },
  },
  "DELETE /organization/:orgname/applications/:client_id/tokens/:token_uuid": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const app = await newApplication();
      const path = `/organization/${ORG}/applications/${app.client_id}/tokens`;
      const { uuid } = (await as("owner", "POST", path, { scope: "repo:read" })).json;
      const res = await send(`${path}/${uuid}`);
      return {
        res,
        effect: async () => expect(await applicationTokens(app.client_id)).toBe(0),
        unchanged: async () => expect(await applicationTokens(app.client_id)).toBe(1),
      };
    },
  },

  // Default permissions: the organization's admins.
  "GET /organization/:orgname/prototypes": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const res = await send(`/organization/${ORG}/prototypes`);
      return {
        res,
        effect: async () =>
          expect((res.json.prototypes as Array<{ id: string }>).map((p) => p.id)).toContain(standing.prototypeId),
      };
    },
  },
  "POST /organization/:orgname/prototypes": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const total = async () => (await listPrototypes(db(), (await findOrganization(db(), ORG))!)).length;
      const before = await total();
      const res = await send(`/organization/${ORG}/prototypes`, {
        role: "read",
        delegate: { name: "spare", kind: "team" },
        activating_user: { name: BYSTANDER },
      });
      return {
        res,
        effect: async () => {
          expect(await total()).toBe(before + 1);
          await as("owner", "DELETE", `/organization/${ORG}/prototypes/${res.json.id}`);
        },
        unchanged: async () => expect(await total()).toBe(before),
      };
    },
  },
  "PUT /organization/:orgname/prototypes/:prototypeid": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 200,
    run: async ({ send }) => {
      const id = await newPrototype();
      const res = await send(`/organization/${ORG}/prototypes/${id}`, { role: "write" });
      const role = async () => (await prototypeOf(id))!.prototype.role;
      return {
        res,
        effect: async () => expect(await role()).toBe("write"),
        unchanged: async () => expect(await role()).toBe("read"),
      };
    },
  },
  "DELETE /organization/:orgname/prototypes/:prototypeid": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 204,
    run: async ({ send }) => {
      const id = await newPrototype();
      const res = await send(`/organization/${ORG}/prototypes/${id}`);
      return {
        res,
        effect: async () => expect(await prototypeOf(id)).toBeUndefined(),
        unchanged: async () => expect(await prototypeOf(id)).toBeDefined(),
      };
    },
  },

  ...robotRoutes("/organization/:orgname/robots"),
};

defineMatrix("organizations", ROUTES);
