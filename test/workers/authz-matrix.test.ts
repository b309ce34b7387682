/**
 * The /v2 authorization matrix: every /v2 route against every kind of caller, on a private and a
 * public repository of an organization. Each caller logs in at /v2/auth as a client would (Basic
 * credentials, or none), then calls each route with the token it got; `_catalog` and `/v1/search`
 * list the repository exactly for those who may pull it. Every cell is stated: the
 * actions a caller holds decide allow or deny, and a denied call changes nothing.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { api, initializeAdmin } from "./helpers/api";
import { basic, db, joinTeam, makeUser, pushBlobWith, pushImageWith, tokenFor } from "./helpers/accounts";
import { bytesOf, request, sha256 } from "./helpers/registry";

type Action = "pull" | "push" | "delete";
const ALL: Action[] = ["pull", "push", "delete"];

/** Who calls, and the actions they must end up holding on the private and the public repository. */
interface Caller {
  name: string;
  login: () => Promise<string | null>;
  private: Action[];
  public: Action[];
}

const ORG = "matrix";
const PRIVATE = `${ORG}/private`;
const PUBLIC = `${ORG}/public`;
let ownerPassword: string;
const passwords: Record<string, string> = {};
const robotTokens: Record<string, string> = {};

async function ownerToken(repository: string): Promise<string> {
  const res = await request("GET", `/v2/auth?scope=repository:${repository}:pull,push,delete`, {
    token: null,
    headers: { Authorization: basic("owner", ownerPassword) },
  });
  return ((await res.json()) as { token: string }).token;
}

/** The registry token a caller's credentials buy for `repository` (null: the login was refused). */
async function login(authorization: string | null, repository: string): Promise<string | null> {
  const res = await request(
    "GET",
    `/v2/auth?scope=repository:${repository}:pull,push,delete&scope=registry:catalog:*`,
    {
      token: null,
      headers: authorization ? { Authorization: authorization } : {},
    },
  );
  if (res.status === 401) return null;
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

const user = (name: string) => () => Promise.resolve(basic(name, passwords[name]!));
const CALLERS: Caller[] = [
  { name: "anonymous", login: async () => null, private: [], public: ["pull"] },
  { name: "a user without access", login: user("outsider"), private: [], public: ["pull"] },
  { name: "a reader", login: user("reader"), private: ["pull"], public: ["pull"] },
  { name: "a writer", login: user("writer"), private: ALL, public: ["pull"] },
  { name: "a repository admin", login: user("radmin"), private: ALL, public: ["pull"] },
  { name: "a team member through a team's write grant", login: user("teamwriter"), private: ALL, public: ["pull"] },
  { name: "an organization admin", login: user("owner"), private: ALL, public: ALL },
  {
    name: "a robot with a write grant",
    login: async () => basic(`${ORG}+granted`, robotTokens.granted!),
    private: ALL,
    public: ["pull"],
  },
  {
    name: "a robot without a grant",
    login: async () => basic(`${ORG}+bare`, robotTokens.bare!),
    private: [],
    public: ["pull"],
  },
  {
    name: "an org admin's OAuth token without repo scopes",
    login: async () => basic("$oauthtoken", await tokenFor("owner", ["user:read", "org:admin"])),
    private: [],
    public: ["pull"],
  },
  {
    name: "an org admin's OAuth token with repo:read only",
    login: async () => basic("$oauthtoken", await tokenFor("owner", ["repo:read"])),
    private: ["pull"],
    public: ["pull"],
  },
  { name: "a disabled user who holds a write grant", login: user("disabled"), private: [], public: [] },
  { name: "a superuser outside the organization", login: user("admin"), private: [], public: ["pull"] },
];

/** One /v2 route: the action it needs, and a call that succeeds when that action is held. */
interface Route {
  name: string;
  action: Action | "token";
  call: (repository: string, token: string | null) => Promise<{ res: Response; unchanged?: () => Promise<boolean> }>;
  ok: number[];
}

const json = { "Content-Type": "application/vnd.oci.image.manifest.v1+json" };

/** A fresh image pushed by the owner: its manifest digest and layer digest. */
async function freshImage(repository: string, tag: string) {
  const res = await pushImageWith(await ownerToken(repository), repository, tag);
  expect(res.status).toBe(201);
  const manifest = await request("GET", `/v2/${repository}/manifests/${tag}`, {
    token: await ownerToken(repository),
    headers: { Accept: json["Content-Type"] },
  });
  const body = (await manifest.json()) as { layers: { digest: string }[] };
  return {
    digest: res.headers.get("Docker-Content-Digest")!,
    layer: body.layers[0]!.digest,
    body: JSON.stringify(body),
  };
}

async function ownerUpload(repository: string): Promise<string> {
  const res = await request("POST", `/v2/${repository}/blobs/uploads/`, { token: await ownerToken(repository) });
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

const ownerSees = async (repository: string, path: string) =>
  (
    await request("HEAD", `/v2/${repository}/${path}`, {
      token: await ownerToken(repository),
      headers: { Accept: json["Content-Type"] },
    })
  ).status === 200;

const ROUTES: Route[] = [
  {
    name: "GET /v2/",
    action: "token",
    ok: [200],
    call: async (_r, token) => ({ res: await request("GET", "/v2/", { token }) }),
  },
  {
    name: "GET tags/list",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({ res: await request("GET", `/v2/${r}/tags/list`, { token }) }),
  },
  {
    name: "GET manifest by tag",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({
      res: await request("GET", `/v2/${r}/manifests/base`, { token, headers: { Accept: json["Content-Type"] } }),
    }),
  },
  {
    name: "HEAD manifest by tag",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({
      res: await request("HEAD", `/v2/${r}/manifests/base`, { token, headers: { Accept: json["Content-Type"] } }),
    }),
  },
  {
    name: "GET blob",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({ res: await request("GET", `/v2/${r}/blobs/${bases[r]!.layer}`, { token }) }),
  },
  {
    name: "HEAD blob",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({ res: await request("HEAD", `/v2/${r}/blobs/${bases[r]!.layer}`, { token }) }),
  },
  {
    name: "GET referrers",
    action: "pull",
    ok: [200],
    call: async (r, token) => ({ res: await request("GET", `/v2/${r}/referrers/${bases[r]!.digest}`, { token }) }),
  },
  {
    name: "POST blob upload (monolithic)",
    action: "push",
    ok: [201],
    call: async (r, token) => {
      const bytes = bytesOf(`blob ${crypto.randomUUID()}`);
      const digest = await sha256(bytes);
      const res = await request("POST", `/v2/${r}/blobs/uploads/?digest=${digest}`, {
        token,
        body: bytes,
        headers: { "Content-Type": "application/octet-stream" },
      });
      return { res, unchanged: async () => !(await ownerSees(r, `blobs/${digest}`)) };
    },
  },
  {
    name: "POST blob upload (session)",
    action: "push",
    ok: [202],
    call: async (r, token) => ({ res: await request("POST", `/v2/${r}/blobs/uploads/`, { token }) }),
  },
  {
    name: "PATCH an upload",
    action: "push",
    ok: [202],
    call: async (r, token) => {
      const location = await ownerUpload(r);
      const res = await request("PATCH", location, {
        token,
        body: bytesOf("chunk"),
        headers: { "Content-Type": "application/octet-stream", "Content-Range": "0-4" },
      });
      // The session still holds nothing (the spec's Range of an empty upload is 0-0).
      return {
        res,
        unchanged: async () =>
          ["0-0", null].includes((await request("GET", location, { token: await ownerToken(r) })).headers.get("Range")),
      };
    },
  },
  {
    name: "GET an upload's status",
    action: "push",
    ok: [204],
    call: async (r, token) => ({ res: await request("GET", await ownerUpload(r), { token }) }),
  },
  {
    name: "PUT to close an upload",
    action: "push",
    ok: [201],
    call: async (r, token) => {
      const location = await ownerUpload(r);
      const bytes = bytesOf(`closing ${crypto.randomUUID()}`);
      const digest = await sha256(bytes);
      const res = await request("PUT", `${location}${location.includes("?") ? "&" : "?"}digest=${digest}`, {
        token,
        body: bytes,
        headers: { "Content-Type": "application/octet-stream" },
      });
      return { res, unchanged: async () => !(await ownerSees(r, `blobs/${digest}`)) };
    },
  },
  {
    name: "DELETE an upload",
    action: "push",
    ok: [204],
    call: async (r, token) => {
      const location = await ownerUpload(r);
      const res = await request("DELETE", location, { token });
      return {
        res,
        unchanged: async () => (await request("GET", location, { token: await ownerToken(r) })).status === 204,
      };
    },
  },
  {
    name: "PUT manifest",
    action: "push",
    ok: [201],
    call: async (r, token) => {
      const tag = `t${crypto.randomUUID().slice(0, 8)}`;
      const res = await request("PUT", `/v2/${r}/manifests/${tag}`, { token, body: bases[r]!.body, headers: json });
      return { res, unchanged: async () => !(await ownerSees(r, `manifests/${tag}`)) };
    },
  },
  {
    name: "DELETE manifest",
    action: "delete",
    ok: [202],
    call: async (r, token) => {
      const image = await freshImage(r, `d${crypto.randomUUID().slice(0, 8)}`);
      const res = await request("DELETE", `/v2/${r}/manifests/${image.digest}`, { token });
      return { res, unchanged: () => ownerSees(r, `manifests/${image.digest}`) };
    },
  },
  {
    name: "DELETE blob",
    action: "delete",
    ok: [202],
    call: async (r, token) => {
      const bytes = bytesOf(`doomed ${crypto.randomUUID()}`);
      expect((await pushBlobWith(await ownerToken(r), r, bytes)).status).toBe(201);
      const digest = await sha256(bytes);
      const res = await request("DELETE", `/v2/${r}/blobs/${digest}`, { token });
      return { res, unchanged: () => ownerSees(r, `blobs/${digest}`) };
    },
  },
];

const bases: Record<string, { digest: string; layer: string; body: string }> = {};

beforeAll(async () => {
  const admin = await initializeAdmin();
  passwords.admin = "admin-password-1";
  ownerPassword = await makeUser(admin, "owner");
  passwords.owner = ownerPassword;
  for (const name of ["outsider", "reader", "writer", "radmin", "teamwriter", "disabled"])
    passwords[name] = await makeUser(admin, name);
  const owner = await tokenFor("owner");
  expect((await api("POST", "/organization", { token: owner, body: { name: ORG } })).status).toBe(201);
  for (const repository of [PRIVATE, PUBLIC]) bases[repository] = await freshImage(repository, "base");
  expect(
    (await api("POST", `/repository/${PUBLIC}/changevisibility`, { token: owner, body: { visibility: "public" } }))
      .status,
  ).toBe(200);
  for (const shortname of ["granted", "bare"])
    robotTokens[shortname] = (
      await api("PUT", `/organization/${ORG}/robots/${shortname}`, { token: owner })
    ).json.token;
  await joinTeam(ORG, "builders", "member", "teamwriter");
  expect(
    (await api("PUT", `/repository/${PRIVATE}/permissions/team/builders`, { token: owner, body: { role: "write" } }))
      .status,
  ).toBe(200);
  const grants: Array<[string, string]> = [
    ["reader", "read"],
    ["writer", "write"],
    ["radmin", "admin"],
    [`${ORG}+granted`, "write"],
    ["disabled", "write"],
  ];
  for (const [who, role] of grants) {
    expect(
      (await api("PUT", `/repository/${PRIVATE}/permissions/user/${who}`, { token: owner, body: { role } })).status,
    ).toBe(200);
  }
  await db().update(users).set({ enabled: false }).where(eq(users.username, "disabled"));
});

describe.each([PRIVATE, PUBLIC])("authorization on %s", (repository) => {
  describe.each(CALLERS)("$name", (caller) => {
    const held = () => (repository === PRIVATE ? caller.private : caller.public);

    it("gets from /v2/auth exactly the actions its standing gives", async () => {
      const authorization = await caller.login();
      const token = await login(authorization, repository);
      if (caller.name.startsWith("a disabled")) {
        expect(token).toBeNull();
        return;
      }
      expect(token).not.toBeNull();
      const res = await request("GET", `/v2/auth?scope=repository:${repository}:pull,push,delete`, {
        token: null,
        headers: authorization ? { Authorization: authorization } : {},
      });
      const { token: minted } = (await res.json()) as { token: string };
      const access = JSON.parse(atob(minted.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).access as {
        actions: string[];
      }[];
      expect([...access[0]!.actions].sort()).toEqual([...held()].sort());
    });

    it.each(ROUTES)("$name: allowed exactly when the action is held; a refusal changes nothing", async (route) => {
      const token = await login(await caller.login(), repository);
      const allowed = route.action === "token" ? token !== null : held().includes(route.action);
      const { res, unchanged } = await route.call(repository, token);
      if (allowed) {
        expect(route.ok, `${route.name} answered ${res.status}`).toContain(res.status);
      } else {
        expect(res.status, `${route.name} answered ${res.status}`).toBe(401);
        if (unchanged) expect(await unchanged()).toBe(true);
      }
    });

    it("sees the repository in _catalog exactly when it may pull it", async () => {
      const token = await login(await caller.login(), repository);
      const res = await request("GET", "/v2/_catalog?n=1000", { token });
      if (token === null) {
        expect(res.status).toBe(401);
        return;
      }
      const names = ((await res.json()) as { repositories: string[] }).repositories;
      expect(names.includes(repository)).toBe(held().includes("pull"));
    });

    it("finds the repository with /v1/search (docker search) exactly when it may pull it", async () => {
      const authorization = await caller.login();
      const res = await request("GET", `/v1/search?q=${ORG}&n=100`, {
        headers: authorization ? { Authorization: authorization } : {},
      });
      if (caller.name.startsWith("a disabled")) {
        expect(res.status).toBe(401);
        return;
      }
      expect(res.status).toBe(200);
      const names = ((await res.json()) as { results: { name: string }[] }).results.map((r) => r.name);
      expect(names.includes(repository)).toBe(held().includes("pull"));
    });
  });
});
