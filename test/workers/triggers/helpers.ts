/**
 * Fixtures of the build trigger tests: accounts (olga owns `olga/*`, rita reads `olga/app`, gus has
 * no access), triggers made and activated through the API, and webhook deliveries as a git server
 * (Basic `$token:<secret>`) or GitHub (`X-Hub-Signature-256`) sends them.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { buildTriggers, connectorJobs, repositories, repositoryBuilds } from "../../../src/db/schema";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { answerOf, api, createPrivateRepository, fixtureCall, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

export interface Accounts {
  admin: string;
  olga: string;
  rita: string;
  gus: string;
}

/** olga with the private repository `olga/app`, rita granted read on it, gus without access. */
export async function triggerAccounts(): Promise<Accounts> {
  const admin = await initializeAdmin();
  for (const name of ["olga", "rita", "gus"]) await makeUser(admin, name);
  const [olga, rita, gus] = await Promise.all(["olga", "rita", "gus"].map((n) => tokenFor(n)));
  await createPrivateRepository(olga!, "olga", "app");
  await fixtureCall(olga!, "PUT", "/repository/olga/app/permissions/user/rita", { role: "read" });
  return { admin, olga: olga!, rita: rita!, gus: gus! };
}

export const CUSTOM_CONFIG = {
  build_source: "git@git.example.com:olga/app.git",
  dockerfile_path: "/Dockerfile",
  context: "/",
};

export const GITHUB_CONFIG = { build_source: "olga/app", dockerfile_path: "/Dockerfile", context: "/" };

/** A new trigger of `service` on `repository` made by `token` (201); its view. */
export async function newTrigger(token: string, repository: string, service = "custom-git") {
  const res = await api("POST", `/repository/${repository}/trigger/`, { token, body: { service } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json;
}

/** A trigger made and activated with `config` (and `pull_robot`); its view. */
export async function activeTrigger(
  token: string,
  repository: string,
  config: Record<string, unknown> = CUSTOM_CONFIG,
  service = "custom-git",
  pullRobot?: string,
) {
  const made = await newTrigger(token, repository, service);
  const res = await api("POST", `/repository/${repository}/trigger/${made.id}/activate`, {
    token,
    body: { config, ...(pullRobot ? { pull_robot: pullRobot } : {}) },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json;
}

export const credential = (view: { config: { credentials: { name: string; value: string }[] } }, name: string) =>
  view.config.credentials.find((c) => c.name === name)?.value;

/** The webhook secret a custom trigger's View Credentials URL carries. */
export function customSecret(view: Parameters<typeof credential>[0]): string {
  const url = credential(view, "Webhook Endpoint URL")!;
  return /^https?:\/\/\$token:([^@]+)@/.exec(url)![1]!;
}

export const basicToken = (secret: string) => `Basic ${btoa(`$token:${secret}`)}`;

/** POSTs `body` to the trigger's webhook with `headers`. */
export async function deliver(uuid: string, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return answerOf(await request("POST", `/webhooks/push/trigger/${uuid}`, { headers, body: text }));
}

/** A custom git push as the seed's §8.2.2 shows it. */
export function customPush(overrides: Record<string, unknown> = {}) {
  return {
    commit: "1c002dd8a0c5f3d2e4b6a7c8d9e0f1a2b3c4d5e6",
    ref: "refs/heads/master",
    default_branch: "master",
    commit_info: {
      url: "https://git.example.com/olga/app/commit/1c002dd",
      message: "initial commit",
      date: "2026-12-07T01:02:03Z",
      author: { username: "olga", avatar_url: "https://git.example.com/olga.png", url: "https://git.example.com/olga" },
      committer: {
        username: "cara",
        avatar_url: "https://git.example.com/cara.png",
        url: "https://git.example.com/cara",
      },
    },
    ...overrides,
  };
}

/** Delivers a custom push with the trigger's credentials and JSON's Content-Type. */
export function pushTo(view: Parameters<typeof customSecret>[0] & { id: string }, body: unknown) {
  return deliver(view.id, body, { Authorization: basicToken(customSecret(view)), "Content-Type": "application/json" });
}

/** `sha256=<hex>` of `body` under `secret`, as GitHub signs a delivery. */
export async function githubSignature(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A GitHub push delivery's body. */
export function githubPush(overrides: Record<string, unknown> = {}) {
  return {
    ref: "refs/heads/main",
    before: "0000000000000000000000000000000000000000",
    after: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
    head_commit: {
      id: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
      url: "https://github.com/olga/app/commit/9f8e7d6",
      message: "Add the Dockerfile",
      timestamp: "2026-12-07T02:03:04+00:00",
      author: { name: "Olga", email: "olga@example.com", username: "olga" },
      committer: { name: "GitHub", email: "noreply@github.com", username: "web-flow" },
    },
    repository: {
      name: "app",
      full_name: "olga/app",
      owner: { name: "olga", login: "olga" },
      ssh_url: "git@github.com:olga/app.git",
      clone_url: "https://github.com/olga/app.git",
      default_branch: "main",
    },
    pusher: { name: "olga", email: "olga@example.com" },
    ...overrides,
  };
}

/** Delivers a GitHub event signed with `secret` (the signature replaced when `signature` is given). */
export async function githubDeliver(uuid: string, secret: string, body: unknown, event = "push", signature?: string) {
  const text = JSON.stringify(body);
  return deliver(uuid, text, {
    "Content-Type": "application/json",
    "X-GitHub-Event": event,
    "X-GitHub-Delivery": crypto.randomUUID(),
    "X-Hub-Signature-256": signature ?? (await githubSignature(secret, text)),
  });
}

/** The builds of `repository`, oldest first, with their job configs parsed and their open jobs. */
export async function buildsOf(repository: string) {
  const rows = await db()
    .select({ build: repositoryBuilds })
    .from(repositoryBuilds)
    .innerJoin(repositories, eq(repositories.id, repositoryBuilds.repositoryId))
    .where(eq(repositories.name, repository))
    .orderBy(repositoryBuilds.id)
    .all();
  return Promise.all(
    rows.map(async ({ build }) => ({
      ...build,
      job: JSON.parse(build.jobConfig),
      jobs: await db().select().from(connectorJobs).where(eq(connectorJobs.subject, build.uuid)).all(),
    })),
  );
}

export const triggerRow = (uuid: string) => db().select().from(buildTriggers).where(eq(buildTriggers.uuid, uuid)).get();

/** A tag template expression, `${path}` (written so, not as a JavaScript template). */
export const expr = (path: string) => `$\{${path}}`;
