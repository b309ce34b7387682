/**
 * Accounts for tenancy tests: users made through the superuser API, OAuth tokens with chosen
 * scopes, registry tokens obtained from /v2/auth as a client would, and pushes with such a token
 * (or, to create a repository, with one forged for the purpose).
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { database } from "../../../src/db/client";
import { teamMembers, teams, users } from "../../../src/db/schema";
import type { Scope } from "../../../src/identity/scopes";
import { issueToken } from "../../../src/identity/tokens";
import { findOrganization } from "../../../src/identity/organizations";
import { inviteEmail } from "../../../src/identity/team-invites";
import { findTeam } from "../../../src/identity/teams";
import { findUser } from "../../../src/identity/users";
import { api } from "./api";
import { fixtureEvents } from "./events";
import { OCI_MANIFEST, bytesOf, ociManifestOver, registryToken, request, sha256 } from "./registry";

export const db = () => database(env.DB);

export const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

export const EVERY_SCOPE: Scope[] = [
  "repo:read",
  "repo:write",
  "repo:admin",
  "repo:create",
  "user:read",
  "user:admin",
  "org:admin",
];

/** Creates a user through the superuser API; returns its generated password. */
export async function makeUser(adminToken: string, username: string): Promise<string> {
  const res = await api("POST", "/superuser/users", {
    token: adminToken,
    body: { username, email: `${username}@example.com` },
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`makeUser ${username}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.password as string;
}

/** An OAuth token of `username` with `scopes`. */
export async function tokenFor(username: string, scopes: Scope[] = EVERY_SCOPE): Promise<string> {
  const user = await findUser(db(), username);
  if (!user) throw new Error(`no user ${username}`);
  return issueToken(db(), { kind: "oauth", userId: user.id, scopes });
}

/** Puts `username` (a user or robot) in a team of `org`, creating the team with `role` if needed. */
export async function joinTeam(
  org: string,
  team: string,
  role: "member" | "creator" | "admin",
  username: string,
): Promise<number> {
  const orgRow = (await findUser(db(), org))!;
  await db().insert(teams).values({ organizationId: orgRow.id, name: team, role }).onConflictDoNothing();
  const teamRow = (await db().select().from(teams).where(eq(teams.name, team)).all()).find(
    (t) => t.organizationId === orgRow.id,
  )!;
  const member = await db().select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  await db().insert(teamMembers).values({ teamId: teamRow.id, userId: member!.id }).onConflictDoNothing();
  return teamRow.id;
}

/** GET /v2/auth for `scope`, as `authorization` (Basic, or none). */
function askV2Auth(authorization: string | null, scope: string): Promise<Response> {
  return request("GET", `/v2/auth?scope=${scope}`, {
    token: null,
    headers: authorization ? { Authorization: authorization } : {},
  });
}

/** The token in a 200 answer of /v2/auth, and the actions of its first access entry. */
async function mintedToken(res: Response): Promise<{ token: string; actions: string[] }> {
  const token = ((await res.json()) as { token: string }).token;
  const access = decodeJwt(token).access as { actions: string[] }[];
  return { token, actions: access[0]?.actions ?? [] };
}

/** The registry token /v2/auth mints for `authorization` (Basic, or none) and `scope`. */
export async function v2Token(
  authorization: string | null,
  scope: string,
): Promise<{ token: string; actions: string[] }> {
  const res = await askV2Auth(authorization, scope);
  if (res.status !== 200) throw new Error(`/v2/auth: ${res.status} ${await res.text()}`);
  return mintedToken(res);
}

/** The scope asking for every action on `repository`. */
const everyAction = (repository: string) => `repository:${repository}:pull,push,delete`;

/** The actions a /v2/auth token for `authorization` grants on `repository` when every action is asked for. */
export async function grantedActions(authorization: string | null, repository: string): Promise<string[]> {
  return (await v2Token(authorization, everyAction(repository))).actions;
}

/** As grantedActions, but /v2/auth's status (401 for credentials it refuses) where it mints no token. */
export async function grantedActionsOrStatus(
  authorization: string | null,
  repository: string,
): Promise<string[] | number> {
  const res = await askV2Auth(authorization, everyAction(repository));
  if (res.status !== 200) return res.status;
  return (await mintedToken(res)).actions;
}

/** Pushes `data` as a blob to `name` with `token`; returns the response. */
export async function pushBlobWith(token: string, name: string, data: Uint8Array | string): Promise<Response> {
  const bytes = bytesOf(data);
  return request("POST", `/v2/${name}/blobs/uploads/?digest=${await sha256(bytes)}`, {
    token,
    body: bytes,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(bytes.byteLength) },
  });
}

/**
 * Pushes a one-layer OCI image tagged `tag` to `name` with `token`, the manifest PUT with `headers`
 * too; returns the manifest PUT's response (a blob upload's when that fails).
 */
export async function pushImageWith(
  token: string,
  name: string,
  tag: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() });
  const layer = `layer ${crypto.randomUUID()}`;
  for (const blob of [config, layer]) {
    const res = await pushBlobWith(token, name, blob);
    if (res.status !== 201) return res;
  }
  return request("PUT", `/v2/${name}/manifests/${tag}`, {
    token,
    body: await ociManifestOver(config, [layer]),
    headers: { "Content-Type": OCI_MANIFEST, ...headers },
  });
}

/**
 * Creates `repository` by a first push as `user` (its namespace's owner or an org admin), with a
 * registry token forged for the purpose rather than one /v2/auth grants; expects the 201.
 */
/** Pushes a fresh image into `repository` as `user`, tagged `tag`; its manifest's digest. */
export async function pushTaggedAs(user: string, repository: string, tag: string): Promise<string> {
  const token = await registryToken([{ type: "repository", name: repository, actions: ["pull", "push"] }], user);
  const res = await pushImageWith(token, repository, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}

export async function pushAs(user: string, repository: string): Promise<void> {
  const token = await registryToken([{ type: "repository", name: repository, actions: ["pull", "push"] }], user);
  const res = await pushBlobWith(token, repository, `bytes of ${repository}`);
  expect(res.status).toBe(201);
}

/** Invites `email` to `team` of `organization` as `inviter`, as the route does; the code Quay would mail. */
export async function invitationCode(
  organization: string,
  team: string,
  inviter: string,
  email: string,
): Promise<string> {
  const org = (await findOrganization(db(), organization))!;
  const found = (await findTeam(db(), org, team))!;
  return (await inviteEmail(db(), org, found, (await findUser(db(), inviter))!, email, fixtureEvents(), null)).code;
}
