/**
 * Pull statistics (Quay `getTagPullStatistics`, `getManifestPullStatistics`; the repository view's
 * `stats`), read from the one pull-counting mechanism: pulls through /v2 are recorded by the
 * isolate's counter, sent on the EVENTS queue and summed by its consumer; the API reads the sums.
 * Refusals: the feature off, unknown tags and manifests, callers without an explicit permission
 * (Quay's PROJQUAY-9775: even on a public repository), private repositories (404).
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import worker from "../../../src/index";
import { pullCounter, type PullRecord } from "../../../src/registry/pull-counts";
import { findRepository } from "../../../src/registry/repositories";
import { basic, db, makeUser, tokenFor, v2Token } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { BASE, OCI_MANIFEST, pushImage, request } from "../helpers/registry";

let olga: string;
let rita: string; // read on olga/stats
let otto: string; // no permission
const passwords: Record<string, string> = {};
const MISSING = `sha256:${"0".repeat(64)}`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Feeds pulls messages to the Worker's queue consumer, as a delivery of the EVENTS queue. */
async function consume(bodies: unknown[]): Promise<void> {
  const messages = bodies.map((body, i) => ({
    id: `m-${crypto.randomUUID()}-${i}`,
    timestamp: new Date(),
    attempts: 1,
    body,
  }));
  const batch = createMessageBatch("wharf-events", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
}

/** Pulls `reference` through /v2 as olga `times` times, then delivers what the counter sent. */
async function pullThroughV2(name: string, reference: string, times: number): Promise<void> {
  const sent: unknown[] = [];
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    sent.push(...[...messages].map((m) => m.body));
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
  });
  const token = (await v2Token(basic("olga", passwords.olga!), `repository:${name}:pull`)).token;
  for (let i = 0; i < times; i++) {
    const res = await request("GET", `/v2/${name}/manifests/${reference}`, {
      token,
      headers: { Accept: OCI_MANIFEST },
    });
    expect(res.status).toBe(200);
  }
  await pullCounter(env.EVENTS).flush();
  vi.restoreAllMocks();
  await consume(sent.filter((body) => (body as { type?: string }).type === "pulls"));
}

const tagStats = (name: string, tag: string, token = olga) =>
  api("GET", `/repository/${name}/tag/${tag}/pull_statistics`, { token });
const manifestStats = (name: string, digest: string, token = olga) =>
  api("GET", `/repository/${name}/manifest/${digest}/pull_statistics`, { token });

beforeAll(async () => {
  const admin = await initializeAdmin();
  passwords.olga = await makeUser(admin, "olga");
  await makeUser(admin, "rita");
  await makeUser(admin, "otto");
  [olga, rita, otto] = await Promise.all([tokenFor("olga"), tokenFor("rita"), tokenFor("otto")]);
});

afterEach(() => vi.restoreAllMocks());

describe("GET …/tag/{tag}/pull_statistics and …/manifest/{digest}/pull_statistics", () => {
  it("answer zeros and nulls before any pull, in Quay's JSON", async () => {
    const image = await pushImage("olga/fresh", "v1");
    // Quay's fields: tag_name, tag_pull_count, last_tag_pull_date, current_manifest_digest,
    // manifest_pull_count, last_manifest_pull_date (endpoints/api/tag.py RepositoryTagPullStatistics).
    expect((await tagStats("olga/fresh", "v1")).json).toEqual({
      tag_name: "v1",
      tag_pull_count: 0,
      last_tag_pull_date: null,
      current_manifest_digest: image.digest,
      manifest_pull_count: 0,
      last_manifest_pull_date: null,
    });
    // Quay's fields: manifest_digest, manifest_pull_count, last_manifest_pull_date (endpoints/api/manifest.py).
    expect((await manifestStats("olga/fresh", image.digest)).json).toEqual({
      manifest_digest: image.digest,
      manifest_pull_count: 0,
      last_manifest_pull_date: null,
    });
  });

  it("count pulls by tag for the tag and its manifest, pulls by digest for the manifest only", async () => {
    const image = await pushImage("olga/stats", "v1");
    await pullThroughV2("olga/stats", "v1", 3);
    await pullThroughV2("olga/stats", image.digest, 2);
    const tag = (await tagStats("olga/stats", "v1")).json;
    expect(tag).toMatchObject({ tag_name: "v1", tag_pull_count: 3, current_manifest_digest: image.digest });
    expect(tag.manifest_pull_count).toBe(5);
    expect(tag.last_tag_pull_date).toMatch(ISO);
    expect(tag.last_manifest_pull_date).toMatch(ISO);
    const manifest = (await manifestStats("olga/stats", image.digest)).json;
    expect(manifest).toEqual({
      manifest_digest: image.digest,
      manifest_pull_count: 5,
      last_manifest_pull_date: expect.stringMatching(ISO),
    });

    // The repository view's stats read the same daily counts (Quay: includeStats).
    const view = await api("GET", "/repository/olga/stats?includeStats=true", { token: olga });
    expect(view.json.stats).toHaveLength(91);
    expect(view.json.stats.every((d: { count: number }) => d.count === 0)).toBe(true);
    const yesterday = Date.now() - 86_400_000;
    const at = (ms: number): PullRecord => ({
      repositoryId: 0,
      repository: "olga/stats",
      namespace: "olga",
      digest: image.digest,
      tag: "v1",
      actor: { kind: "anonymous" },
      clientIp: null,
      at: ms,
    });
    const id = (await findRepository(db(), "olga/stats"))!.id;
    await consume([
      { type: "pulls", pulls: [at(yesterday), at(yesterday + 1)].map((p) => ({ ...p, repositoryId: id })) },
    ]);
    const after = await api("GET", "/repository/olga/stats?includeStats=true", { token: olga });
    const day = new Date(yesterday).toISOString().slice(0, 10);
    expect(after.json.stats.find((d: { date: string }) => d.date === day)).toEqual({ date: day, count: 2 });
  });

  it("answer 404 for a tag or manifest the repository does not have", async () => {
    await pushImage("olga/gaps", "v1");
    expectQuayError(await tagStats("olga/gaps", "nope"), 404, "not_found");
    expectQuayError(await manifestStats("olga/gaps", MISSING), 404, "not_found");
    expectQuayError(await manifestStats("olga/gaps", "latest"), 404, "not_found");
  });

  it("need an explicit permission, even on a public repository; private ones stay 404", async () => {
    const image = await pushImage("olga/shared", "v1");
    await api("POST", "/repository/olga/shared/changevisibility", { token: olga, body: { visibility: "public" } });
    await pushImage("olga/hidden", "v1");
    const grant = { token: olga, body: { role: "read" } };
    expect((await api("PUT", "/repository/olga/shared/permissions/user/rita", grant)).status).toBe(200);
    expect((await tagStats("olga/shared", "v1", rita)).status).toBe(200);
    expect((await manifestStats("olga/shared", image.digest, rita)).status).toBe(200);
    expectQuayError(await tagStats("olga/shared", "v1", otto), 403, "insufficient_scope");
    expectQuayError(await manifestStats("olga/shared", image.digest, otto), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/repository/olga/shared/tag/v1/pull_statistics"), 401, "invalid_token");
    expectQuayError(await tagStats("olga/hidden", "v1", otto), 404, "not_found");
    expectQuayError(await api("GET", "/repository/olga/hidden/tag/v1/pull_statistics"), 404, "not_found");
    const noRead = await tokenFor("olga", ["user:read"]);
    expectQuayError(await tagStats("olga/shared", "v1", noRead), 403, "insufficient_scope");
  });

  it("answer 404 with Quay's message when FEATURE_IMAGE_PULL_STATS is off", async () => {
    await pushImage("olga/off", "v1");
    const ctx = createExecutionContext();
    const res = await createApp().fetch(
      new Request(`${BASE}/api/v1/repository/olga/off/tag/v1/pull_statistics`, {
        headers: { Authorization: `Bearer ${olga}` },
      }),
      { ...env, FEATURE_IMAGE_PULL_STATS: "false" } as unknown as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const json = (await res.json()) as { error_message: string };
    expect(res.status).toBe(404);
    expect(json.error_message).toBe("Image pull statistics feature is not enabled");
  });
});
