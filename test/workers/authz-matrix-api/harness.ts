/**
 * The machinery of the /api/v1 authorization matrix (authz-matrix-api*.test.ts): the callers, the
 * fixtures they act on, and the rule that turns a route's table entry into one stated expectation
 * per caller. Each test file holds the table of one area of the API (accounts, organizations,
 * repositories: {@link areaOf}); each table must list exactly the router's routes of its area, so a
 * route added without its entry fails a test.
 *
 * The callers, on organization `acme` with the private repository `acme/hidden-depot`:
 * - anonymous (no credentials);
 * - the organization's robot `acme+bot`, which holds a write grant on the private repository,
 *   presenting what it holds: its Basic credentials (not an /api/v1 credential at all:
 *   authenticateApi reads only Bearer tokens and the session cookie, so it is anonymous), its
 *   token as a Bearer, and the registry token /v2/auth gives it as a Bearer (both refused, 401);
 * - a disabled user whose token was issued before disabling (401 everywhere);
 * - a signed-in user without access, users with read, write and admin grants on the private
 *   repository, a member of team `builders` (role member) that holds write on it, the
 *   organization's admin (the owners team) and the superuser `admin`, who is in no team: each with
 *   a token of every scope, super:user included (only SUPER_USERS makes it count);
 * - the org admin's and the superuser's tokens holding every scope but the route's (for routes
 *   that need no scope: user:read only).
 */
import { env } from "cloudflare:workers";
import { eq, like } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiPath } from "../../../src/routes/api/openapi";
import { accessTokens, users, type User } from "../../../src/db/schema";
import { createAppToken } from "../../../src/identity/app-tokens";
import { findOrganization } from "../../../src/identity/organizations";
import { setFederation } from "../../../src/identity/robot-federation";
import { createRobot, findRobot } from "../../../src/identity/robots";
import { ALL_SCOPES, grants, type Scope } from "../../../src/identity/scopes";
import { findTeam, isTeamMember } from "../../../src/identity/teams";
import { findUser } from "../../../src/identity/users";
import { api as router } from "../../../src/routes/api";
import { api, initializeAdmin } from "../helpers/api";
import { requestWith } from "../helpers/mailbox";
import { basic, db, makeUser, tokenFor, v2Token } from "../helpers/accounts";
import { fixtureEvents } from "../helpers/events";

export const ORG = "acme";
/** The private repository's name within the organization: no refused answer may contain it. */
export const SECRET = "hidden-depot";
export const PRIVATE = `${ORG}/${SECRET}`;
export const PUBLIC = `${ORG}/open-depot`;
/** A private repository granted exactly as PRIVATE is, whose visibility the matrix flips. */
export const FLIP = `${ORG}/flip`;
export const ROBOT = `${ORG}+bot`;
/** An organization of `bystander`'s, whose teams invite the callers. */
export const SIDE = "sideorg";
/** A user of the fixtures who is no caller: grants, team members and default permissions name them. */
export const BYSTANDER = "bystander";

export type CallerKey =
  | "anonymous"
  | "robot-basic"
  | "robot-token"
  | "robot-registry-token"
  | "disabled"
  | "outsider"
  | "reader"
  | "writer"
  | "radmin"
  | "teamwriter"
  | "orgadmin"
  | "superuser"
  | "orgadmin-unscoped"
  | "superuser-unscoped";

/**
 * How /api/v1 takes a caller: anonymous (no usable credential), refused (a Bearer that resolves to
 * no one: 401 on every route), a signed-in user, or a signed-in user whose token lacks the scope.
 */
type Kind = "anonymous" | "refused" | "user" | "unscoped";

export interface Caller {
  key: CallerKey;
  name: string;
  kind: Kind;
  /** The account whose own things (`/user/…`) the call acts on; the org admin's for callers without one. */
  account: string;
  /** Whether the caller may read the private repository (with a token holding repo:read). */
  seesPrivate: boolean;
  /** The credentials it signs in with at POST /signin. */
  signin: () => { username: string; password: string };
  headers: (scope: Scope | null) => Promise<Record<string, string>>;
}

const passwords: Record<string, string> = {};
const tokens: Record<string, string> = {};
const held = { robotToken: "", robotRegistryToken: "", appClientId: "", prototypeId: "" };

/** The standing OAuth application of `acme` and its standing default permission. */
export const standing = {
  get appClientId() {
    return held.appClientId;
  },
  get prototypeId() {
    return held.prototypeId;
  },
};

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const scopedTokens = new Map<string, Promise<string>>();

/** A token of `username` holding every scope of `base` except those that grant `scope` (none: user:read only). */
function tokenWithout(username: string, base: Scope[], scope: Scope | null): Promise<string> {
  const scopes = scope === null ? (["user:read"] as Scope[]) : base.filter((s) => !grants([s], scope));
  const key = `${username} ${scopes.join(" ")}`;
  if (!scopedTokens.has(key)) scopedTokens.set(key, tokenFor(username, scopes));
  return scopedTokens.get(key)!;
}

const own = (username: string) => () => ({ username, password: passwords[username]! });
const robotCredentials = () => ({ username: ROBOT, password: held.robotToken });

function signedIn(key: CallerKey, name: string, account: string, seesPrivate: boolean): Caller {
  return {
    key,
    name,
    kind: "user",
    account,
    seesPrivate,
    signin: own(account),
    headers: async () => bearer(tokens[account]!),
  };
}

export const CALLERS: Caller[] = [
  {
    key: "anonymous",
    name: "anonymous",
    kind: "anonymous",
    account: "owner",
    seesPrivate: false,
    signin: own("outsider"),
    headers: async () => ({}),
  },
  {
    key: "robot-basic",
    name: "the robot by Basic credentials (no API credential: anonymous)",
    kind: "anonymous",
    account: "owner",
    seesPrivate: false,
    signin: robotCredentials,
    headers: async () => ({ Authorization: basic(ROBOT, held.robotToken) }),
  },
  {
    key: "robot-token",
    name: "the robot's token as a Bearer",
    kind: "refused",
    account: "owner",
    seesPrivate: false,
    signin: robotCredentials,
    headers: async () => bearer(held.robotToken),
  },
  {
    key: "robot-registry-token",
    name: "the robot's registry token as a Bearer",
    kind: "refused",
    account: "owner",
    seesPrivate: false,
    signin: robotCredentials,
    headers: async () => bearer(held.robotRegistryToken),
  },
  {
    key: "disabled",
    name: "a disabled user",
    kind: "refused",
    account: "disabled",
    seesPrivate: false,
    signin: own("disabled"),
    headers: async () => bearer(tokens.disabled!),
  },
  signedIn("outsider", "a user without access", "outsider", false),
  signedIn("reader", "a reader", "reader", true),
  signedIn("writer", "a writer", "writer", true),
  signedIn("radmin", "a repository admin", "radmin", true),
  signedIn("teamwriter", "a member of a team with write", "teamwriter", true),
  signedIn("orgadmin", "the organization admin", "owner", true),
  signedIn("superuser", "the superuser outside the organization", "admin", false),
  {
    key: "orgadmin-unscoped",
    name: "the org admin's token without the route's scope",
    kind: "unscoped",
    account: "owner",
    seesPrivate: true,
    signin: own("owner"),
    headers: async (scope) => bearer(await tokenWithout("owner", ALL_SCOPES, scope)),
  },
  {
    key: "superuser-unscoped",
    name: "the superuser's token without the route's scope",
    kind: "unscoped",
    account: "admin",
    seesPrivate: false,
    signin: own("admin"),
    headers: async (scope) => bearer(await tokenWithout("admin", ALL_SCOPES, scope)),
  },
];

/** Who a route lets in: caller keys, `anonymous` for every anonymous caller, `unscoped` for tokens without the route's scope. */
export type Who = CallerKey | "anonymous" | "unscoped";

export const SIGNED_IN: Who[] = ["outsider", "reader", "writer", "radmin", "teamwriter", "orgadmin", "superuser"];
/** Routes that need no scope: anonymous callers too, and any token. */
export const ANYONE: Who[] = [...SIGNED_IN, "anonymous", "unscoped"];
export const ORG_ADMIN: Who[] = ["orgadmin"];
export const ORG_MEMBERS: Who[] = ["orgadmin", "teamwriter"];
export const REPO_ADMINS: Who[] = ["radmin", "orgadmin"];
export const REPO_WRITERS: Who[] = ["writer", "teamwriter", ...REPO_ADMINS];
export const REPO_READERS: Who[] = ["reader", ...REPO_WRITERS];
export const SUPERUSER: Who[] = ["superuser"];

export type Answer = Awaited<ReturnType<typeof api>>;

export interface Ctx {
  caller: Caller;
  /** The caller's account (see Caller.account). */
  account: string;
  /** Calls the route's method on `path` (concrete parameters, query included) as the caller. */
  send: (path: string, body?: unknown) => Promise<Answer>;
}

export interface Outcome {
  res: Answer;
  /** After an allowed call: asserts what it did, and puts back what it consumed or changed. */
  effect?: () => Promise<void>;
  /** After a refused call: asserts that nothing changed. */
  unchanged?: () => Promise<void>;
}

export interface Route {
  /** The OAuth scope the route checks, as it documents it (checked against /discovery). */
  scope: Scope | null;
  allow: Who[];
  /** The status of an allowed call. */
  ok: number;
  /** A signed-in caller without the right: 403, or 404 where Wharf hides what the caller may not see. */
  denied?: 403 | 404;
  /** An anonymous caller the route does not let in: 401, or 404 where it hides a private repository. */
  anonymous?: 401 | 404;
  /** Cells that answer otherwise, with the reason in the table. */
  override?: Partial<Record<CallerKey, number>>;
  /** The Worker's environment the cells run with, when not the tests' own (a feature turned on). */
  env?: Env;
  run: (ctx: Ctx) => Promise<Outcome>;
}

/** The status `caller` must get from `route`, and whether that is the route doing its work. */
export function expectation(route: Route, caller: Caller): { status: number; allowed: boolean } {
  const override = route.override?.[caller.key];
  if (override !== undefined) return { status: override, allowed: override === route.ok };
  if (caller.kind === "refused") return { status: 401, allowed: false };
  const who: Who = caller.kind === "anonymous" ? "anonymous" : caller.kind === "unscoped" ? "unscoped" : caller.key;
  if (route.allow.includes(who)) return { status: route.ok, allowed: true };
  if (caller.kind === "anonymous") return { status: route.anonymous ?? 401, allowed: false };
  if (caller.kind === "unscoped") return { status: 403, allowed: false };
  return { status: route.denied ?? 403, allowed: false };
}

/**
 * The call `sent` aimed at a repository or organization of the fixtures, aimed instead at one that
 * does not exist; undefined for calls that name neither.
 */
function missingTwin(sent: { path: string; body: unknown }): { path: string; body: unknown } | undefined {
  const path = sent.path
    .replace(new RegExp(`^/repository/${ORG}/[^/?]+`), `/repository/${ORG}/no-such-depot`)
    .replace(new RegExp(`^/user/starred/${ORG}/[^/?]+`), `/user/starred/${ORG}/no-such-depot`)
    .replace(new RegExp(`^/organization/${ORG}(?=/|\\?|$)`), "/organization/no-such-org");
  const text =
    sent.body === undefined ? undefined : JSON.stringify(sent.body).replaceAll(`"${SECRET}"`, '"no-such-depot"');
  const body = text === undefined ? undefined : JSON.parse(text);
  if (path === sent.path && text === JSON.stringify(sent.body)) return undefined;
  return { path, body };
}

/** Quay's error type for each refusal status. */
const ERROR_TYPES: Record<number, string> = { 401: "invalid_token", 403: "insufficient_scope", 404: "not_found" };

/** Every `METHOD path` the router serves (middleware, registered as ALL, left out). */
export function routerRoutes(): string[] {
  return [...new Set(router.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))];
}

/** The areas the matrix is split into, one test file each; every route falls in exactly one. */
export type Area =
  | "tags"
  | "manifests"
  | "autoprune"
  | "immutability"
  | "pull-statistics"
  | "notifications"
  | "namespace-notifications"
  | "repositories"
  | "organizations"
  | "proxy-cache"
  | "superuser"
  | "accounts"
  | "account-life"
  | "logs"
  | "quotas"
  | "org-mirror"
  | "builds"
  | "connectors"
  | "metrics tokens"
  | "fairuse"
  | "secscan"
  | "triggers"
  | "config";
export function areaOf(key: string): Area {
  // Builds first: a build's `…/logs` and the superuser's `/superuser/{uuid}/logs` are builds' rows.
  if (/^\w+ \/(repository\/\S*\/build\b|superuser\/:build_uuid\/|filedrop$)/.test(key)) return "builds";
  if (/^(POST|DELETE) \/user$/.test(key)) return "account-life";
  if (/^\w+ \/(user\/(authorizations|assignedauthorization|convert|clientkey)|recovery|signin\/verify)\b/.test(key))
    return "account-life";
  if (/^\w+ \/\S*\/(logs|aggregatelogs|exportlogs)$/.test(key)) return "logs";
  if (/^\w+ \/(organization\/:orgname|user|superuser\/(users|organization)\/:namespace)\/quota\b/.test(key))
    return "quotas";
  if (/^\w+ \/\S*\/autoprunepolicy\b/.test(key)) return "autoprune";
  if (/^\w+ \/\S*\/immutabilitypolicy\b/.test(key)) return "immutability";
  if (/^\w+ \/\S*\/pull_statistics\b/.test(key)) return "pull-statistics";
  if (/^\w+ \/(repository\/\S*\/(notification|authorizedemail)|user\/notifications)\b/.test(key))
    return "notifications";
  if (/^\w+ \/(organization\/:orgname\/notifications|user\/namespacenotifications)\b/.test(key))
    return "namespace-notifications";
  if (/^\w+ \/repository\/\S*\/tag\b/.test(key)) return "tags";
  if (/^\w+ \/repository\/\S*\/manifest\/:manifestref\/security$/.test(key)) return "secscan";
  if (/^\w+ \/repository\/\S*\/manifest\b/.test(key)) return "manifests";
  if (/^\w+ \/repository\/\S*\/trigger\b/.test(key)) return "triggers";
  if (/^\w+ \/(repository|user\/starred)\b/.test(key)) return "repositories";
  if (/^\w+ \/organization\/[^/]+\/(proxycache|validateproxycache)$/.test(key)) return "proxy-cache";
  if (/^\w+ \/organization\/:orgname\/mirror\b/.test(key)) return "org-mirror";
  if (/^\w+ \/(organization|teaminvite)\b/.test(key)) return "organizations";
  // The registry's configuration (issue #19): the superuser's view and checks.
  if (/^\w+ \/(superuser\/)?config\b/.test(key)) return "config";
  // Wharf's origin connectors and their queue (issue #18).
  if (/^\w+ \/superuser\/connectors\b/.test(key)) return "connectors";
  // The scrape tokens of /metrics (issue #19).
  if (/^\w+ \/superuser\/metrics\/tokens\b/.test(key)) return "metrics tokens";
  // Wharf's fair-use overrides of an organization (issue #19).
  if (/^\w+ \/superuser\/organizations\/:name\/fairuse$/.test(key)) return "fairuse";
  // The superuser's registry-wide operations of issue #14 (user management stays with "accounts").
  if (/^\w+ \/(superuser\/(organizations|takeownership|registrysize|apptokens)|messages?)\b/.test(key))
    return "superuser";
  return "accounts";
}

// ---------------------------------------------------------------------------------------------
// Fixtures and the helpers the tables prepare and check with.

export const fresh = (prefix: string) => `${prefix}${crypto.randomUUID().slice(0, 8)}`;

export async function account(username: string): Promise<User> {
  const found = await findUser(db(), username);
  if (!found) throw new Error(`no account ${username}`);
  return found;
}

/** An /api/v1 call as `username` (all scopes) that must succeed: fixtures, not cells. */
export async function as(username: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await api(method, path, { token: tokens[username]!, body });
  if (res.status < 200 || res.status > 299)
    throw new Error(`${username} ${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}

/** Gives `repository` the grants PRIVATE has (reader read, writer write, radmin admin, builders write). */
async function grantLikePrivate(repository: string): Promise<void> {
  const grantsOf: Array<[string, string]> = [
    ["reader", "read"],
    ["writer", "write"],
    ["radmin", "admin"],
  ];
  for (const [who, role] of grantsOf)
    await as("owner", "PUT", `/repository/${repository}/permissions/user/${who}`, { role });
  await as("owner", "PUT", `/repository/${repository}/permissions/team/builders`, { role: "write" });
}

/** A new private repository of `acme`, granted as PRIVATE is; returns its name. */
export async function grantedRepository(): Promise<string> {
  const name = fresh("doomed");
  await as("owner", "POST", "/repository", {
    namespace: ORG,
    repository: name,
    visibility: "private",
    description: "",
  });
  await grantLikePrivate(`${ORG}/${name}`);
  return `${ORG}/${name}`;
}

/** A new team of `org` made by its admin, with `members`; returns its name. */
export async function team(members: string[] = [], org = ORG, admin = "owner"): Promise<string> {
  const name = fresh("team");
  await as(admin, "PUT", `/organization/${org}/team/${name}`, { role: "member" });
  for (const member of members) await as(admin, "PUT", `/organization/${org}/team/${name}/members/${member}`);
  return name;
}

export async function isMember(org: string, teamname: string, username: string): Promise<boolean> {
  const found = await findTeam(db(), (await findOrganization(db(), org))!, teamname);
  return found !== undefined && (await isTeamMember(db(), found, await account(username)));
}

/** An organization like `acme` for the standings that matter to it: owner admin, teamwriter a member. */
export async function replicaOrganization(): Promise<string> {
  const name = fresh("org");
  await as("owner", "POST", "/organization", { name });
  await as("owner", "PUT", `/organization/${name}/team/builders`, { role: "member" });
  await as("owner", "PUT", `/organization/${name}/team/builders/members/teamwriter`);
  return name;
}

/** A new application token of `username`, titled `<username>:…` as every token of the matrix is. */
export async function appToken(username: string): Promise<{ uuid: string; code: string }> {
  const title = `${username}:${fresh("t")}`;
  const { token, code } = await createAppToken(db(), env, await account(username), title, fixtureEvents());
  return { uuid: token.uuid!, code };
}

export const appTokenTitled = (title: string) =>
  db().select().from(accessTokens).where(eq(accessTokens.title, title)).all();

/** A new robot of `namespace` (a user or an organization), with one federation entry if asked. */
export async function robot(namespace: string, options: { federated?: boolean } = {}) {
  const shortname = fresh("r");
  const created = await createRobot(
    db(),
    env,
    await account(namespace),
    shortname,
    { unstructuredMetadata: null },
    fixtureEvents(),
  );
  if (options.federated) await setFederation(db(), created, [FEDERATION], fixtureEvents());
  return { shortname, robot: created };
}

export const FEDERATION = { issuer: "https://issuer.example", subject: "ci" };

export const findRobotOf = async (namespace: string, shortname: string) =>
  findRobot(db(), await account(namespace), shortname);

/** Robots (of any namespace) with this shortname. */
export const robotsNamed = (shortname: string) =>
  db()
    .select()
    .from(users)
    .where(like(users.username, `%+${shortname}`))
    .all();

async function setUp(): Promise<void> {
  tokens.admin = await initializeAdmin();
  passwords.admin = "admin-password-1";
  for (const name of ["owner", "outsider", "reader", "writer", "radmin", "teamwriter", "disabled", BYSTANDER]) {
    passwords[name] = await makeUser(tokens.admin, name);
    // Every scope, super:user included: only SUPER_USERS makes it count.
    tokens[name] = await tokenFor(name, ALL_SCOPES);
  }
  await as("owner", "POST", "/organization", { name: ORG });
  await as("owner", "POST", "/repository", {
    namespace: ORG,
    repository: SECRET,
    visibility: "private",
    description: "",
  });
  await as("owner", "POST", "/repository", {
    namespace: ORG,
    repository: PUBLIC.split("/")[1],
    visibility: "public",
    description: "",
  });
  await as("owner", "POST", "/repository", {
    namespace: ORG,
    repository: FLIP.split("/")[1],
    visibility: "private",
    description: "",
  });
  await as("owner", "PUT", `/organization/${ORG}/team/builders`, { role: "member" });
  await as("owner", "PUT", `/organization/${ORG}/team/builders/members/teamwriter`);
  await as("owner", "PUT", `/organization/${ORG}/team/spare`, { role: "member" });
  await as("owner", "PUT", `/organization/${ORG}/team/builders/invite/pending@example.com`);
  held.robotToken = (await as("owner", "PUT", `/organization/${ORG}/robots/bot`)).json.token;
  for (const repository of [PRIVATE, FLIP]) await grantLikePrivate(repository);
  for (const who of [ROBOT, "disabled"])
    await as("owner", "PUT", `/repository/${PRIVATE}/permissions/user/${who}`, { role: "write" });
  held.appClientId = (
    await as("owner", "POST", `/organization/${ORG}/applications`, { name: "acme-app" })
  ).json.client_id;
  held.prototypeId = (
    await as("owner", "POST", `/organization/${ORG}/prototypes`, {
      role: "read",
      delegate: { name: "spare", kind: "team" },
      activating_user: { name: BYSTANDER },
    })
  ).json.id;
  await as(BYSTANDER, "POST", "/organization", { name: SIDE });
  held.robotRegistryToken = (await v2Token(basic(ROBOT, held.robotToken), `repository:${PRIVATE}:pull,push`)).token;
  // The token above was issued while the account was enabled.
  await as("admin", "PUT", "/superuser/users/disabled", { enabled: false });
}

/**
 * The matrix of one area: the table must list exactly the router's routes of that area, with the
 * scope each documents; then every route is called by every caller, each cell asserting its status
 * (and, for a refusal, Quay's error type), that a caller who may not read the private repository
 * never sees its name, and what the call did or that nothing changed. A refusal aimed at `acme` or
 * one of its repositories must also be the very answer the same call gets for one that does not
 * exist, so no refusal tells what exists.
 */
export function defineMatrix(area: Area, table: Record<string, Route>): void {
  beforeAll(setUp);

  describe(`the ${area} table`, () => {
    it("lists exactly the router's routes of this area", () => {
      expect(Object.keys(table).sort()).toEqual(
        routerRoutes()
          .filter((key) => areaOf(key) === area)
          .sort(),
      );
    });

    it("states each route's scope as the route documents it in /openapi.json (superuser routes: super:user, left out of it)", async () => {
      const { paths } = (await api("GET", "/openapi.json")).json;
      for (const [key, route] of Object.entries(table)) {
        const [method, path] = key.split(" ") as [string, string];
        const operation = paths[`/api/v1${openApiPath(path)}`]?.[method.toLowerCase()];
        if (/^\/superusers?\//.test(path)) {
          expect(operation, key).toBeUndefined();
          expect(route.scope, key).toBe("super:user");
        } else {
          expect(operation, key).toBeDefined();
          expect(operation.security?.[0]?.oauth2_implicit?.[0] ?? null, key).toBe(route.scope);
        }
      }
    });

    it("lets in tokens without the route's scope only where the route needs none", () => {
      for (const [key, route] of Object.entries(table))
        expect(route.allow.includes("unscoped"), key).toBe(route.scope === null);
    });
  });

  for (const [key, route] of Object.entries(table)) {
    const method = key.split(" ")[0]!;
    const cells = CALLERS.map((caller) => {
      const { status, allowed } = expectation(route, caller);
      return { caller, status, allowed, label: `${caller.name}: ${allowed ? "allowed" : "refused"}, ${status}` };
    });
    describe(key, () => {
      it.each(cells)("$label", async ({ caller, status, allowed }) => {
        const send = async (path: string, body?: unknown) => {
          const headers = await caller.headers(route.scope);
          return route.env
            ? requestWith(route.env, method, `/api/v1${path}`, { headers, body })
            : api(method, path, { headers, body });
        };
        let sent: { path: string; body: unknown } | undefined;
        const ctx: Ctx = {
          caller,
          account: caller.account,
          send: (path, body) => {
            sent ??= { path, body };
            return send(path, body);
          },
        };
        const { res, effect, unchanged } = await route.run(ctx);
        const text = JSON.stringify(res.json) ?? "";
        expect(res.status, `${key} as ${caller.name}: ${text.slice(0, 300)}`).toBe(status);
        if (!caller.seesPrivate) expect(text, "the private repository's name").not.toContain(SECRET);
        if (allowed) {
          await effect?.();
          return;
        }
        if (route.override?.[caller.key] !== undefined) {
          await unchanged?.();
          return;
        }
        expect(res.json?.error_type, text.slice(0, 300)).toBe(ERROR_TYPES[status]);
        await unchanged?.();
        // A refusal tells nothing of what exists: the same call on a repository or organization
        // that does not exist gets the very same answer.
        const twin = sent && missingTwin(sent);
        if (twin) {
          const other = await send(twin.path, twin.body);
          expect({ status: other.status, json: other.json }, `${twin.path} ${JSON.stringify(twin.body)}`).toEqual({
            status: res.status,
            json: res.json,
          });
        }
      });
    });
  }
}
