/**
 * An organization mirror's discovery (src/mirror/org-sync.ts; Quay workers/repomirrorworker
 * `perform_org_mirror_discovery`, util/orgmirror) against a source on the far side of the outbound
 * guard: Quay's repository listing with its paging and Bearer token, Harbor's with `Link` paging
 * and Basic, the filters, each new repository created in MIRROR with a repository mirror, a second
 * run adding only what is new, the source's refusals, hostile names, cancel and sync-now carried to
 * the repository mirrors, the cron's scan, one discovery at a time, the log kinds, and the whole
 * chain: a discovered repository's tags synced by the repository mirror engine.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { orgMirrorConfigs, repoMirrorConfigs, users } from "../../../src/db/schema";
import { decryptSecret } from "../../../src/identity/secrets";
import { claimOrgMirror } from "../../../src/mirror/org-claims";
import { queueDueOrgMirrors, runOrgMirrorSync } from "../../../src/mirror/org-sync";
import { runMirrorSync } from "../../../src/mirror/sync";
import { findRepository } from "../../../src/registry/repositories";
import { clock } from "../../../src/lib/clock";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { captureQueued } from "../helpers/events";
import { FakeUpstream, type SeenRequest } from "../helpers/fake-upstream";

let olga: string;
let orgs = 0;

/** A Quay's `/api/v1/repository` (Quay's list fields), `perPage` repositories a page with `next_page`. */
function quaySource(names: () => string[], options: { perPage?: number; status?: number; token?: string } = {}) {
  const seen: SeenRequest[] = [];
  const answer = (request: SeenRequest): Response | undefined => {
    const url = new URL(request.url);
    if (url.origin !== "https://quay.example.com" || url.pathname !== "/api/v1/repository") return undefined;
    seen.push(request);
    if (options.status) return Response.json({ error: "no" }, { status: options.status });
    const per = options.perPage ?? 2;
    const start = Number(url.searchParams.get("next_page") ?? "0");
    const page = names().slice(start, start + per);
    const next = start + per < names().length ? String(start + per) : undefined;
    return Response.json({
      repositories: page.map((name) => ({
        namespace: url.searchParams.get("namespace"),
        name,
        description: null,
        is_public: true,
        kind: "image",
        state: "NORMAL",
        is_starred: false,
      })),
      ...(next ? { next_page: next } : {}),
    });
  };
  return { seen, answer };
}

async function mirroredOrg(overrides: Record<string, unknown> = {}): Promise<{ org: string; id: number }> {
  const org = `discover${++orgs}`;
  await fixtureCall(olga, "POST", "/organization/", { name: org, email: `${org}@example.com` });
  await fixtureCall(olga, "PUT", `/organization/${org}/robots/mirrorbot`, {});
  await fixtureCall(olga, "POST", `/organization/${org}/mirror`, {
    external_registry_type: "quay",
    external_registry_url: "https://quay.example.com/",
    external_namespace: "projectquay",
    robot_username: `${org}+mirrorbot`,
    visibility: "public",
    sync_interval: 3600,
    sync_start_date: "2026-01-01T00:00:00Z",
    external_registry_username: "reader",
    external_registry_password: "api-token-secret",
    repository_filters: ["app*", "tools/*"],
    ...overrides,
  });
  const owner = (await db().select().from(users).where(eq(users.username, org)).get())!;
  const config = (await db()
    .select()
    .from(orgMirrorConfigs)
    .where(eq(orgMirrorConfigs.organizationId, owner.id))
    .get())!;
  return { org, id: config.id };
}

const configOf = async (id: number) =>
  (await db().select().from(orgMirrorConfigs).where(eq(orgMirrorConfigs.id, id)).get())!;
const repoMirrorOf = async (name: string) => {
  const repository = (await findRepository(db(), name))!;
  return (await db().select().from(repoMirrorConfigs).where(eq(repoMirrorConfigs.repositoryId, repository.id)).get())!;
};
const discovered = async (org: string) =>
  (await api("GET", `/organization/${org}/mirror/repositories`, { token: olga })).json;

/** The source's API answers first (the registry part answers 404 for paths it does not know). */
function serve(answer: (request: SeenRequest) => Response | undefined): FakeUpstream {
  const upstream = new FakeUpstream({ origin: "https://quay.example.com", auth: "none" });
  upstream.intercept = answer;
  return upstream.install();
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("discovery from a Quay source", () => {
  it("lists every page with the Bearer token, keeps what the filters match, creates each in MIRROR with its repository mirror", async () => {
    const { org, id } = await mirroredOrg();
    const source = quaySource(() => ["app-one", "other", "app-two", "tools/cli", "app-one"]);
    serve(source.answer);
    const jobs = captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");

    expect(source.seen.map((r) => r.url)).toEqual([
      "https://quay.example.com/api/v1/repository?namespace=projectquay",
      "https://quay.example.com/api/v1/repository?namespace=projectquay&next_page=2",
      "https://quay.example.com/api/v1/repository?namespace=projectquay&next_page=4",
    ]);
    expect(source.seen.every((r) => r.authorization === "Bearer api-token-secret")).toBe(true);
    for (const name of ["app-one", "app-two", "tools/cli"]) {
      const repository = (await findRepository(db(), `${org}/${name}`))!;
      expect(repository).toMatchObject({ state: "MIRROR", visibility: "public" });
      const mirror = await repoMirrorOf(`${org}/${name}`);
      expect(mirror).toMatchObject({
        externalReference: `quay.example.com/projectquay/${name}`,
        ruleValue: JSON.stringify(["*"]),
        syncInterval: 3600,
        isEnabled: true,
        syncStatus: "NEVER_RUN",
      });
      expect(JSON.parse(mirror.externalRegistryConfig)).toEqual({ verify_tls: true });
      expect(await decryptSecret(env, mirror.sealedUsername!)).toBe("reader");
      expect(await decryptSecret(env, mirror.sealedPassword!)).toBe("api-token-secret");
      expect(jobs).toContainEqual({ type: "mirror_sync", repositoryId: repository.id });
    }
    expect(await findRepository(db(), `${org}/other`)).toBeUndefined();
    const view = await api("GET", `/repository/${org}/app-one/mirror`, { token: olga });
    expect(view.json.robot_username).toBe(`${org}+mirrorbot`);

    const listed = await discovered(org);
    // Quay OrgMirrorRepositories.get: name, sync_status, discovery_date, last_sync_date,
    // status_message, quay_repository; then page, limit, total, has_next.
    expect(listed).toEqual({
      repositories: ["app-one", "app-two", "tools/cli"].map((name) => ({
        name,
        sync_status: "NEVER_RUN",
        discovery_date: expect.stringMatching(/Z$/),
        last_sync_date: null,
        status_message: null,
        quay_repository: `${org}/${name}`,
      })),
      page: 1,
      limit: 100,
      total: 3,
      has_next: false,
    });
    const page2 = await api("GET", `/organization/${org}/mirror/repositories?page=2&limit=2`, { token: olga });
    expect(page2.json).toMatchObject({
      repositories: [{ name: "tools/cli" }],
      page: 2,
      limit: 2,
      total: 3,
      has_next: false,
    });
    expect(await configOf(id)).toMatchObject({
      syncStatus: "SUCCESS",
      syncRetriesRemaining: 3,
      syncExpirationDate: null,
    });
  });

  it("without credentials asks for public repositories only, with no Authorization", async () => {
    const { org, id } = await mirroredOrg({ external_registry_username: null, external_registry_password: null });
    const source = quaySource(() => ["app-open"]);
    serve(source.answer);
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    expect(source.seen).toEqual([
      {
        method: "GET",
        url: "https://quay.example.com/api/v1/repository?namespace=projectquay&public=true",
        authorization: null,
      },
    ]);
    const mirror = await repoMirrorOf(`${org}/app-open`);
    expect([mirror.sealedUsername, mirror.sealedPassword]).toEqual([null, null]);
  });

  it("a second run adds what is new and leaves the existing repositories as they are", async () => {
    const { org, id } = await mirroredOrg();
    const names = ["app-one"];
    const source = quaySource(() => names);
    serve(source.answer);
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    const first = await repoMirrorOf(`${org}/app-one`);
    await db().update(repoMirrorConfigs).set({ syncStatus: "SUCCESS" }).where(eq(repoMirrorConfigs.id, first.id));
    names.push("app-new");
    expect(await runOrgMirrorSync(env, id)).toBeNull(); // not due before its interval
    advanceClock(3601 * 1000);
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    expect(await repoMirrorOf(`${org}/app-one`)).toMatchObject({ id: first.id, syncStatus: "SUCCESS" });
    expect((await findRepository(db(), `${org}/app-new`))!.state).toBe("MIRROR");
    expect(
      (await discovered(org)).repositories.map((r: { name: string; sync_status: string }) => [r.name, r.sync_status]),
    ).toEqual([
      ["app-new", "NEVER_RUN"],
      ["app-one", "SUCCESS"],
    ]);
  });

  it("records a name it cannot create (invalid, or a repository someone else made) as failed, never a 500", async () => {
    const { org, id } = await mirroredOrg({ repository_filters: [] });
    await createPrivateRepository(olga, org, "taken");
    const source = quaySource(() => ["UPPER", "../escape", "taken", "fine", `a${"b".repeat(300)}`]);
    serve(source.answer);
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    const listed = (await discovered(org)).repositories;
    expect(listed.find((r: { name: string }) => r.name === "fine")).toMatchObject({ sync_status: "NEVER_RUN" });
    for (const name of ["UPPER", "../escape", "taken"])
      expect(
        listed.find((r: { name: string }) => r.name === name),
        name,
      ).toMatchObject({
        sync_status: "FAIL",
        quay_repository: null,
        status_message: expect.any(String),
      });
    expect((await findRepository(db(), `${org}/taken`))!.state).toBe("NORMAL");
    // A name no repository could have (over 255 characters) is not discovered at all.
    expect(listed).toHaveLength(4);
  });

  for (const [status, message] of [
    [401, "Authentication failed: invalid credentials"],
    [403, "Access forbidden to namespace 'projectquay'"],
    [404, "Namespace 'projectquay' not found on Quay registry"],
    [500, "Quay API returned error: 500"],
  ] as const) {
    it(`a source answering ${status} fails the discovery with Quay's message and spends a retry`, async () => {
      const { org, id } = await mirroredOrg();
      const logs = recordLogs();
      const source = quaySource(() => [], { status });
      serve(source.answer);
      expect(await runOrgMirrorSync(env, id)).toBe("FAIL");
      expect(await configOf(id)).toMatchObject({ syncStatus: "FAIL", syncRetriesRemaining: 2 });
      await logs.deliver();
      const failed = await entryOf(olga, `/organization/${org}/logs`, "org_mirror_sync_failed");
      expect(failed.metadata.message).toBe(`Failed to fetch repositories from source: ${message}`);
    });
  }

  it("a source paging past the page bound fails the discovery rather than mirror part of it", async () => {
    const { org, id } = await mirroredOrg({ repository_filters: [] });
    const logs = recordLogs();
    serve(quaySource(() => Array.from({ length: 101 }, (_, i) => `app-${i}`), { perPage: 1 }).answer);
    expect(await runOrgMirrorSync(env, id)).toBe("FAIL");
    await logs.deliver();
    expect((await entryOf(olga, `/organization/${org}/logs`, "org_mirror_sync_failed")).metadata.message).toBe(
      "Failed to fetch repositories from source: More than 100 pages of repositories",
    );
    expect((await discovered(org)).total).toBe(0);
  });

  it("a malformed or oversized answer fails the discovery, never a 500", async () => {
    const { id } = await mirroredOrg();
    let body: BodyInit = "not json";
    serve(() => new Response(body));
    expect(await runOrgMirrorSync(env, id)).toBe("FAIL");
    body = "x".repeat(5 * 1024 * 1024);
    advanceClock(1000);
    expect(await runOrgMirrorSync(env, id)).toBe("FAIL");
    expect((await configOf(id)).syncRetriesRemaining).toBe(1);
  });
});

describe("discovery from a Harbor source", () => {
  it("pages with Link rel=next, strips the project, sends Basic credentials", async () => {
    const { org, id } = await mirroredOrg({
      external_registry_type: "harbor",
      external_registry_url: "https://harbor.example.com",
      external_namespace: "library",
      repository_filters: [],
    });
    const seen: SeenRequest[] = [];
    serve((request) => {
      const url = new URL(request.url);
      if (url.origin !== "https://harbor.example.com") return undefined;
      seen.push(request);
      const page = Number(url.searchParams.get("page"));
      // Harbor's repository list: id, name (`project/repo`), project_id, artifact_count, …
      const pages = [
        [{ id: 1, name: "library/nginx", project_id: 1, artifact_count: 2 }],
        [{ id: 2, name: "library/redis", project_id: 1 }],
      ];
      const link = page === 1 ? '</api/v2.0/projects/library/repositories?page=2&page_size=100>; rel="next"' : "";
      return Response.json(pages[page - 1] ?? [], { headers: link ? { Link: link } : {} });
    });
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    expect(seen.map((r) => r.url)).toEqual([
      "https://harbor.example.com/api/v2.0/projects/library/repositories?page=1&page_size=100",
      "https://harbor.example.com/api/v2.0/projects/library/repositories?page=2&page_size=100",
    ]);
    expect(seen[0]!.authorization).toBe(`Basic ${btoa("reader:api-token-secret")}`);
    expect((await repoMirrorOf(`${org}/nginx`)).externalReference).toBe("harbor.example.com/library/nginx");
    expect((await findRepository(db(), `${org}/redis`))!.state).toBe("MIRROR");
  });
});

describe("scheduling, sync-now, cancel", () => {
  it("the cron queues due mirrors only; one discovery at a time", async () => {
    const { id } = await mirroredOrg({ sync_start_date: "2099-01-01T00:00:00Z" });
    const jobs = captureQueued();
    await queueDueOrgMirrors(env, clock.now());
    expect(jobs).not.toContainEqual({ type: "org_mirror_sync", orgMirrorId: id });
    await db()
      .update(orgMirrorConfigs)
      .set({ syncStartDate: clock.now() - 1000 })
      .where(eq(orgMirrorConfigs.id, id));
    await queueDueOrgMirrors(env, clock.now());
    expect(jobs).toContainEqual({ type: "org_mirror_sync", orgMirrorId: id });
    expect(await claimOrgMirror(db(), id, clock.now())).not.toBeNull();
    expect(await runOrgMirrorSync(env, id)).toBeNull();
  });

  it("sync-now sets every discovered repository's mirror to SYNC_NOW and queues it; cancel cancels them", async () => {
    const { org, id } = await mirroredOrg();
    const source = quaySource(() => ["app-a", "app-b"]);
    serve(source.answer);
    const jobs = captureQueued();
    const logs = recordLogs();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    await db().update(repoMirrorConfigs).set({ syncStatus: "SUCCESS" });
    await fixtureCall(olga, "POST", `/organization/${org}/mirror/sync-now`);
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    const a = await repoMirrorOf(`${org}/app-a`);
    expect(a.syncStatus).toBe("SYNC_NOW");
    expect((await repoMirrorOf(`${org}/app-b`)).syncStatus).toBe("SYNC_NOW");
    expect(jobs).toContainEqual({ type: "mirror_sync", repositoryId: a.repositoryId });

    await fixtureCall(olga, "POST", `/organization/${org}/mirror/sync-cancel`);
    expect(await runOrgMirrorSync(env, id)).toBe("CANCEL");
    expect(await repoMirrorOf(`${org}/app-a`)).toMatchObject({
      syncStatus: "CANCEL",
      syncStartDate: null,
      syncRetriesRemaining: 0,
    });
    await logs.deliver();
    const entries = (await api("GET", `/organization/${org}/logs`, { token: olga })).json.logs;
    expect(entries.find((e: { kind: string }) => e.kind === "org_mirror_sync_failed").metadata.message).toBe(
      "Sync cancelled: 2 repos set to cancelled",
    );
  });

  it("a change of the source, credentials, interval or enablement reaches the discovered repositories' mirrors", async () => {
    const { org, id } = await mirroredOrg();
    serve(quaySource(() => ["app-moved"]).answer);
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    await fixtureCall(olga, "PUT", `/organization/${org}/mirror`, {
      external_registry_url: "http://quay.example.com",
      external_namespace: "elsewhere",
      external_registry_password: "rotated",
      sync_interval: 7200,
      is_enabled: false,
    });
    const mirror = await repoMirrorOf(`${org}/app-moved`);
    expect(mirror).toMatchObject({
      externalReference: "quay.example.com/elsewhere/app-moved",
      syncInterval: 7200,
      isEnabled: false,
    });
    expect(JSON.parse(mirror.externalRegistryConfig)).toEqual({ verify_tls: false });
    expect(await decryptSecret(env, mirror.sealedPassword!)).toBe("rotated");
    expect(await decryptSecret(env, mirror.sealedUsername!)).toBe("reader");
  });

  it("deleting the configuration keeps the repositories and disables their mirrors", async () => {
    const { org, id } = await mirroredOrg();
    serve(quaySource(() => ["app-kept"]).answer);
    captureQueued();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    await fixtureCall(olga, "DELETE", `/organization/${org}/mirror`);
    expect(await findRepository(db(), `${org}/app-kept`)).toBeDefined();
    expect((await repoMirrorOf(`${org}/app-kept`)).isEnabled).toBe(false);
  });
});

describe("log kinds and the whole chain", () => {
  it("logs org_mirror_sync_started, org_mirror_repo_created, org_mirror_repo_failed, org_mirror_sync_success (performer the robot); the repository mirror syncs the tags", async () => {
    const { org, id } = await mirroredOrg({ repository_filters: [] });
    const upstream = new FakeUpstream({ origin: "https://quay.example.com", auth: "none" });
    const image = await upstream.putImage("projectquay/app-chain", "v1");
    upstream.intercept = quaySource(() => ["app-chain", "Bad Name"]).answer;
    upstream.install();
    const logs = recordLogs();
    expect(await runOrgMirrorSync(env, id)).toBe("SUCCESS");
    const repository = (await findRepository(db(), `${org}/app-chain`))!;
    expect(await runMirrorSync(env, repository.id)).toBe("SUCCESS");
    const tags = await api("GET", `/repository/${org}/app-chain/tag/?onlyActiveTags=true`, { token: olga });
    expect(tags.json.tags.map((t: { name: string; manifest_digest: string }) => [t.name, t.manifest_digest])).toEqual([
      ["v1", image.digest],
    ]);
    await logs.deliver();
    const path = `/organization/${org}/logs`;
    // Quay's _emit_org_config_log metadata: message, org_mirror_config_id, external_registry_url,
    // external_namespace; performer the mirror robot.
    const started = await entryOf(olga, path, "org_mirror_sync_started");
    expect(started.metadata).toMatchObject({
      message: `Starting repository discovery for organization '${org}'`,
      org_mirror_config_id: id,
      external_registry_url: "https://quay.example.com/",
      external_namespace: "projectquay",
    });
    expect(started.performer.name).toBe(`${org}+mirrorbot`);
    expect((await entryOf(olga, path, "org_mirror_repo_created")).metadata).toMatchObject({
      repository_name: "app-chain",
    });
    expect((await entryOf(olga, path, "org_mirror_repo_failed")).metadata).toMatchObject({
      repository_name: "Bad Name",
      message: "Failed to create repository 'Bad Name': Invalid repository name",
    });
    expect((await entryOf(olga, path, "org_mirror_sync_success")).metadata.message).toBe(
      "Discovery completed: 2 repos discovered, 1 new",
    );
  });
});
