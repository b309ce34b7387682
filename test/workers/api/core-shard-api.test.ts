// The /api/v1 routes of one repository's core for a namespace whose core lives on a shard
// (docs/sharding-the-registry-core.md, Stage 3): pushed through /v2, its tag history, manifests,
// labels, time machine, pull statistics and security scan are read (and label writes made, their
// events published from the shard's outbox) on that shard, while DB keeps only the directory.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, count, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { forgetCorePlacements } from "../../../src/db/core-shards";
import {
  connectorJobs,
  eventOutbox,
  manifestLabels,
  manifests,
  repositories,
  tagPullStats,
  tags,
} from "../../../src/db/schema";
import { forgetDirectory } from "../../../src/db/shards";
import type { RegistryEvent } from "../../../src/events/catalogue";
import worker from "../../../src/index";
import { forgetShadows } from "../../../src/registry/core-db";
import { pullCounter } from "../../../src/registry/pull-counts";
import { holdersOf } from "../../../src/secscan/holders";
import { scanJobHandler } from "../../../src/secscan/scan-job";
import { basic, db, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { leaseOpenJob } from "../helpers/connectors";
import { type Placed, placedUser, repositoryNamed, seedManifest } from "../helpers/core-shard";
import { OCI_MANIFEST, request } from "../helpers/registry";
import { shardDb } from "../helpers/shard-rows";
import { clairReport, fetchWith, jobContext, scannerEnv } from "../secscan/fixtures";

const REPO = "apishard/app";
let owner: Placed;
let token: string;
let first: string;
let second: string;

async function v2TokenOf(actions = "pull,push,delete"): Promise<string> {
  return (await v2Token(basic(owner.name, owner.password), `repository:${REPO}:${actions}`)).token;
}

async function push(tag: string): Promise<string> {
  const res = await pushImageWith(await v2TokenOf(), REPO, tag);
  expect(res.status).toBe(201);
  return res.headers.get("Docker-Content-Digest")!;
}

/** An /api/v1 call through the Worker with `targetEnv`, its background work (event publication) awaited. */
async function call(method: string, path: string, body?: unknown, targetEnv: Env = env) {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetchWith(targetEnv, method, `/api/v1${path}`, {
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : null };
}

/** The events sent to the EVENTS queue while `run` runs. */
async function sentDuring(run: () => Promise<unknown>): Promise<RegistryEvent[]> {
  const sent: RegistryEvent[] = [];
  const spy = vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    sent.push(...[...messages].map((m) => m.body as RegistryEvent));
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return sent;
}

const outboxRows = async (d: ReturnType<typeof db>, id: string) =>
  (await d.select({ n: count() }).from(eventOutbox).where(eq(eventOutbox.id, id)).get())!.n;

beforeAll(async () => {
  const admin = await initializeAdmin();
  owner = await placedUser(admin, "apishard");
  expect(owner.shard).toBeGreaterThan(0);
  token = await tokenFor(owner.name);
  first = await push("v1");
  second = await push("v1");
});

afterEach(() => {
  vi.restoreAllMocks();
  forgetDirectory();
  forgetCorePlacements();
  forgetShadows();
});

describe("the /api/v1 of a repository whose core is on a shard", () => {
  it("keeps its core rows on the shard only", async () => {
    const repo = await repositoryNamed(REPO);
    const of = async (d: ReturnType<typeof db>) =>
      (await d.select({ n: count() }).from(manifests).where(eq(manifests.repositoryId, repo.id)).get())!.n;
    expect(await of(shardDb(owner.shard))).toBe(2);
    expect(await of(db())).toBe(0);
  });

  it("lists the tag history, ended lifetimes included", async () => {
    const res = await api("GET", `/repository/${REPO}/tag/?onlyActiveTags=false`, { token });
    expect(res.status).toBe(200);
    const v1 = (res.json.tags as { name: string; manifest_digest: string; end_ts?: number }[]).filter(
      (t) => t.name === "v1",
    );
    expect(v1.map((t) => t.manifest_digest)).toEqual([second, first]);
    expect(v1[0]!.end_ts).toBeUndefined();
    expect(v1[1]!.end_ts).toBeGreaterThan(0);
    const active = await api("GET", `/repository/${REPO}/tag/?onlyActiveTags=true`, { token });
    expect(active.json.tags.map((t: { manifest_digest: string }) => t.manifest_digest)).toEqual([second]);
  });

  it("describes a manifest and lists its labels", async () => {
    const manifest = await api("GET", `/repository/${REPO}/manifest/${second}`, { token });
    expect(manifest.status).toBe(200);
    expect(manifest.json).toMatchObject({ digest: second, is_manifest_list: false });
    expect(manifest.json.layers).toHaveLength(1);
    const labels = await api("GET", `/repository/${REPO}/manifest/${second}/labels`, { token });
    expect(labels).toMatchObject({ status: 200, json: { labels: [] } });
  });

  it("adds and deletes a label on the shard, publishing each event from the shard's outbox", async () => {
    const manifestId = (await shardDb(owner.shard)
      .select({ id: manifests.id })
      .from(manifests)
      .where(eq(manifests.digest, second))
      .get())!.id;
    let added!: Awaited<ReturnType<typeof call>>;
    const addEvents = await sentDuring(async () => {
      added = await call("POST", `/repository/${REPO}/manifest/${second}/labels`, {
        key: "team",
        value: "core",
        media_type: null,
      });
    });
    expect(added.status).toBe(201);
    const id = added.json.label.id as string;
    const row = await shardDb(owner.shard).select().from(manifestLabels).where(eq(manifestLabels.id, id)).get();
    expect(row).toMatchObject({ manifestId, key: "team", value: "core", sourceType: "api" });
    expect(await db().select().from(manifestLabels).where(eq(manifestLabels.id, id)).get()).toBeUndefined();
    const addEvent = addEvents.find((e) => e.kind === "manifest_label_add")!;
    expect(addEvent).toBeDefined();
    // Published, so cleared from the shard's outbox, where it was committed; never written to DB's.
    expect(await outboxRows(shardDb(owner.shard), addEvent.id)).toBe(0);
    expect(await outboxRows(db(), addEvent.id)).toBe(0);

    const one = await api("GET", `/repository/${REPO}/manifest/${second}/labels/${id}`, { token });
    expect(one).toMatchObject({ status: 200, json: { id, key: "team", value: "core" } });

    let deleted!: Awaited<ReturnType<typeof call>>;
    const deleteEvents = await sentDuring(async () => {
      deleted = await call("DELETE", `/repository/${REPO}/manifest/${second}/labels/${id}`);
    });
    expect(deleted.status).toBe(204);
    expect(await shardDb(owner.shard).select().from(manifestLabels).where(eq(manifestLabels.id, id)).get()).toBe(
      undefined,
    );
    const deleteEvent = deleteEvents.find((e) => e.kind === "manifest_label_delete")!;
    expect(deleteEvent).toBeDefined();
    expect(await outboxRows(shardDb(owner.shard), deleteEvent.id)).toBe(0);
  });

  it("restores a tag from the time machine and removes a lifetime from it", async () => {
    await push("tm");
    const older = await push("tm");
    expect((await api("DELETE", `/repository/${REPO}/tag/tm`, { token })).status).toBe(204);
    const restored = await api("POST", `/repository/${REPO}/tag/tm/restore`, {
      token,
      body: { manifest_digest: older },
    });
    expect(restored.status).toBe(200);
    const alive = await api("GET", `/repository/${REPO}/tag/?specificTag=tm&onlyActiveTags=true`, { token });
    expect(alive.json.tags.map((t: { manifest_digest: string }) => t.manifest_digest)).toEqual([older]);

    const permanently = { ...env, PERMANENTLY_DELETE_TAGS: "true" } as unknown as Env;
    const expired = await call(
      "POST",
      `/repository/${REPO}/tag/tm/expire`,
      { manifest_digest: older, is_alive: true },
      permanently,
    );
    expect(expired.status).toBe(204);
    const after = await api("GET", `/repository/${REPO}/tag/?specificTag=tm&onlyActiveTags=true`, { token });
    expect(after.json.tags).toEqual([]);
  });

  it("answers the pull statistics counted on the shard", async () => {
    const sent: unknown[] = [];
    vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
      sent.push(...[...messages].map((m) => m.body));
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
    });
    const pullToken = await v2TokenOf("pull");
    for (let i = 0; i < 3; i++) {
      const res = await request("GET", `/v2/${REPO}/manifests/v1`, {
        token: pullToken,
        headers: { Accept: OCI_MANIFEST },
      });
      expect(res.status).toBe(200);
    }
    await pullCounter(env.EVENTS).flush();
    vi.restoreAllMocks();
    const pulls = sent.filter((body) => (body as { type?: string }).type === "pulls");
    const batch = createMessageBatch(
      "wharf-events",
      pulls.map((body, i) => ({ id: `core-api-${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);

    const repo = await repositoryNamed(REPO);
    const onTag = and(eq(tagPullStats.repositoryId, repo.id), eq(tagPullStats.tag, "v1"));
    expect((await shardDb(owner.shard).select().from(tagPullStats).where(onTag).get())?.pulls).toBe(3);
    expect(await db().select().from(tagPullStats).where(onTag).get()).toBeUndefined();

    const ofTag = await api("GET", `/repository/${REPO}/tag/v1/pull_statistics`, { token });
    expect(ofTag).toMatchObject({
      status: 200,
      json: { tag_name: "v1", tag_pull_count: 3, current_manifest_digest: second, manifest_pull_count: 3 },
    });
    const ofManifest = await api("GET", `/repository/${REPO}/manifest/${second}/pull_statistics`, { token });
    expect(ofManifest).toMatchObject({ status: 200, json: { manifest_digest: second, manifest_pull_count: 3 } });
  });

  it("queues, scans and serves the layers of a manifest pushed while the scanner was off", async () => {
    const repo = await repositoryNamed(REPO);
    const security = () => call("GET", `/repository/${REPO}/manifest/${second}/security`, undefined, scannerEnv());
    // Backfilled: the manifest is found on the shard and its scan queued in DB.
    expect(await security()).toMatchObject({ status: 200, json: { status: "queued", data: null } });
    const job = await leaseOpenJob("scan", second);
    expect(job.repositoryId).toBe(repo.id);
    const open = await db().select().from(connectorJobs).where(eq(connectorJobs.subject, second)).all();
    expect(open).toHaveLength(1);

    // The job finds its live copy on the shard and hands out its layer, served from there.
    const described = (await scanJobHandler.describe(job, jobContext())) as {
      scan: { repository: string; layers: { hash: string; uri: string }[] };
    };
    expect(described.scan.repository).toBe(REPO);
    expect(described.scan.layers).toHaveLength(1);
    const layer = described.scan.layers[0]!;
    const served = await fetchWith(scannerEnv(), "GET", new URL(layer.uri).pathname);
    expect(served.status).toBe(200);
    expect(served.headers.get("Docker-Content-Digest")).toBe(layer.hash);
    await served.arrayBuffer();

    // Its result names the repository on the shard among the manifest's holders.
    const context = jobContext();
    const report = clairReport(second, layer.hash);
    await scanJobHandler.complete(job, { status: "scanned", indexer_state: "state", report }, context);
    const scanned = context.published.find((e) => e.kind === "manifest_scanned")!;
    expect(scanned.repository).toEqual({ id: repo.id, name: REPO });
    const found = context.published.filter((e) => e.kind === "vulnerability_found");
    expect(found.map((e) => e.repository)).toEqual([{ id: repo.id, name: REPO }]);
    expect((found[0]!.data as { tags: string[] }).tags).toEqual(["v1"]);
    expect((await security()).json.status).toBe("scanned");
  });
});

describe("label writes of a repository whose core is on a shard", () => {
  it("are refused while DB says the repository is READ_ONLY, writing nothing on the shard", async () => {
    const state = (value: string) => api("PUT", `/repository/${REPO}/changestate`, { token, body: { state: value } });
    expect((await state("READ_ONLY")).status).toBe(200);
    const refused = await call("POST", `/repository/${REPO}/manifest/${second}/labels`, {
      key: "frozen",
      value: "yes",
      media_type: null,
    });
    // Quay's refusal of a write to a repository that is not NORMAL.
    expect(refused).toMatchObject({ status: 503, json: { error_type: "service_unavailable" } });
    const written = await shardDb(owner.shard).select().from(manifestLabels).where(eq(manifestLabels.key, "frozen"));
    expect(written).toEqual([]);
    expect((await state("NORMAL")).status).toBe(200);
  });
});

describe("the holders of a digest (security notifications)", () => {
  it("are merged from every database by repository name, a shard's repository kept only while DB has it", async () => {
    const repo = await repositoryNamed(REPO);
    const { digest } = await seedManifest(owner.shard, repo.id, "seeded");
    // A repository whose core is in DB holding the same digest, named before REPO.
    const [copy] = await db()
      .insert(repositories)
      .values({ name: "aaa/copy", namespace: "aaa" })
      .returning({ id: repositories.id });
    const [row] = await db()
      .insert(manifests)
      .values({ repositoryId: copy!.id, digest, mediaType: OCI_MANIFEST, size: 10 })
      .returning({ id: manifests.id });
    await db()
      .insert(tags)
      .values({ repositoryId: copy!.id, name: "same", manifestId: row!.id, lifetimeStartMs: Date.now() - 1000 });
    // A shard's shadow whose repository DB no longer has: its copy is no holder.
    await shardDb(owner.shard)
      .insert(repositories)
      .values({ id: 987_654, name: "apishard/gone", namespace: "apishard" });
    await shardDb(owner.shard)
      .insert(manifests)
      .values({ repositoryId: 987_654, digest, mediaType: OCI_MANIFEST, size: 10 });

    const holders = await holdersOf(env, [digest]);
    expect(holders.map((h) => ({ repository: h.repository, tags: h.tags }))).toEqual([
      { repository: { id: copy!.id, name: "aaa/copy" }, tags: ["same"] },
      { repository: { id: repo.id, name: REPO }, tags: ["seeded"] },
    ]);
  });
});
