/**
 * A repository's mirror sync (src/mirror/sync.ts; Quay workers/repomirrorworker) against a fake
 * upstream: matching tags copied (blobs, then manifests, as the mirror robot), unchanged tags
 * skipped, tags that no longer match removed, Quay's statuses, retries and schedule with the clock
 * moved, one sync per repository at a time, cancel between tags, the cron's scan, the sync's log
 * kinds and its notifications.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { eq } from "drizzle-orm";
import { repoMirrorConfigs } from "../../../src/db/schema";
import { runMirrorSync, queueDueMirrors } from "../../../src/mirror/sync";
import { findRepository } from "../../../src/registry/repositories";
import type { Digest } from "../../../src/lib/digest";
import { type UpstreamRegistry, UpstreamError } from "../../../src/upstream/registry";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { recordDeliveries } from "../helpers/notifications";
import { bytesOf, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, registryToken, request, sha256 } from "../helpers/registry";

let olga: string;

/** An upstream in memory: images by tag, blobs by digest, and what was asked of it. */
class FakeUpstream implements UpstreamRegistry {
  tags = new Map<string, { bytes: Uint8Array; digest: Digest }>();
  blobs = new Map<string, Uint8Array>();
  asked: string[] = [];
  failTags: Error | null = null;
  beforeManifest: (reference: string) => Promise<void> = async () => {};

  async image(tag: string, marker = crypto.randomUUID()): Promise<Digest> {
    const config = bytesOf(JSON.stringify({ architecture: "amd64", os: "linux", marker }));
    const layer = bytesOf(`layer of ${tag} ${marker}`);
    const configDigest = await sha256(config);
    const layerDigest = await sha256(layer);
    this.blobs.set(configDigest, config);
    this.blobs.set(layerDigest, layer);
    const manifest = bytesOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.byteLength },
        layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.byteLength }],
      }),
    );
    const digest = (await sha256(manifest)) as Digest;
    this.tags.set(tag, { bytes: manifest, digest });
    return digest;
  }

  async ping() {
    return "anonymous" as const;
  }
  async headManifest(_repository: string, reference: string) {
    this.asked.push(`HEAD ${reference}`);
    const found = this.tags.get(reference);
    return found ? { digest: found.digest, mediaType: OCI_MANIFEST, size: found.bytes.byteLength } : null;
  }
  async getManifest(_repository: string, reference: string) {
    this.asked.push(`GET ${reference}`);
    await this.beforeManifest(reference);
    const found = this.tags.get(reference) ?? [...this.tags.values()].find((t) => t.digest === reference);
    return found
      ? { digest: found.digest, mediaType: OCI_MANIFEST, size: found.bytes.byteLength, bytes: found.bytes }
      : null;
  }
  async getBlob(_repository: string, digest: Digest) {
    this.asked.push(`BLOB ${digest}`);
    const bytes = this.blobs.get(digest);
    return bytes ? { size: bytes.byteLength, body: new Blob([bytes]).stream() } : null;
  }
  async listTags() {
    if (this.failTags) throw this.failTags;
    return [...this.tags.keys()];
  }
}

async function mirror(name: string, globs: string[], startDate = "2026-01-01T00:00:00Z") {
  await createPrivateRepository(olga, "olga", name);
  await fixtureCall(olga, "POST", `/repository/olga/${name}/mirror`, {
    external_reference: "upstream.example.com/library/alpine",
    sync_interval: 3600,
    sync_start_date: startDate,
    robot_username: "olga+syncbot",
    root_rule: { rule_kind: "tag_glob_csv", rule_value: globs },
  });
  return (await findRepository(db(), `olga/${name}`))!.id;
}

const configOf = async (id: number) =>
  (await db().select().from(repoMirrorConfigs).where(eq(repoMirrorConfigs.repositoryId, id)).get())!;

async function localTags(name: string): Promise<Record<string, string>> {
  const res = await api("GET", `/repository/${name}/tag/?onlyActiveTags=true`, { token: olga });
  return Object.fromEntries(res.json.tags.map((t: any) => [t.name, t.manifest_digest]));
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  olga = await tokenFor("olga");
  await fixtureCall(olga, "PUT", "/user/robots/syncbot", {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a mirror sync", () => {
  it("copies the tags the globs match, serves them, and reports SUCCESS with the next start", async () => {
    const id = await mirror("alpine", ["3.*", "lat?st", "v[!0]"]);
    const upstream = new FakeUpstream();
    const wanted = {
      "3.1": await upstream.image("3.1"),
      "3.2": await upstream.image("3.2"),
      latest: await upstream.image("latest"),
      v1: await upstream.image("v1"),
    };
    for (const other of ["4.0", "v0", "dev", "3"]) await upstream.image(other);
    expect(await runMirrorSync(env, id, () => upstream)).toBe("SUCCESS");
    expect(await localTags("olga/alpine")).toEqual(wanted);
    // The copied bytes pull as the upstream served them.
    const token = await registryToken([{ type: "repository", name: "olga/alpine", actions: ["pull"] }], "olga");
    const pulled = await request("GET", "/v2/olga/alpine/manifests/3.1", { token, headers: { Accept: OCI_MANIFEST } });
    expect(pulled.status).toBe(200);
    expect(new Uint8Array(await pulled.arrayBuffer())).toEqual(upstream.tags.get("3.1")!.bytes);
    const config = await configOf(id);
    expect(config).toMatchObject({ syncStatus: "SUCCESS", syncRetriesRemaining: 3, syncExpirationDate: null });
    // Quay's release_mirror: the next start is the next whole interval after the start date.
    expect(config.syncStartDate! % 3_600_000).toBe(Date.UTC(2026, 0, 1) % 3_600_000);
    expect(config.syncStartDate!).toBeGreaterThan(Date.now());
    // Not due again until then: nothing runs.
    expect(await runMirrorSync(env, id, () => upstream)).toBeNull();
  });

  it("updates changed tags, skips unchanged ones, removes those no longer matching (Quay's delete_obsolete_tags)", async () => {
    const id = await mirror("moving", ["3.*", "latest"]);
    const upstream = new FakeUpstream();
    await upstream.image("3.1");
    const kept = await upstream.image("3.2");
    await upstream.image("latest");
    expect(await runMirrorSync(env, id, () => upstream)).toBe("SUCCESS");
    const moved = await upstream.image("3.1", "rebuilt");
    upstream.tags.delete("latest");
    const added = await upstream.image("3.3");
    upstream.asked = [];
    advanceClock(3_600_000);
    expect(await runMirrorSync(env, id, () => upstream)).toBe("SUCCESS");
    expect(await localTags("olga/moving")).toEqual({ "3.1": moved, "3.2": kept, "3.3": added });
    // 3.2 was only HEADed: its digest had not changed.
    expect(upstream.asked).toContain("HEAD 3.2");
    expect(upstream.asked).not.toContain("GET 3.2");
    // Narrowing the rule removes what no longer matches.
    await fixtureCall(olga, "PUT", "/repository/olga/moving/mirror", {
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["3.3"] },
    });
    advanceClock(3_600_000);
    expect(await runMirrorSync(env, id, () => upstream)).toBe("SUCCESS");
    expect(await localTags("olga/moving")).toEqual({ "3.3": added });
  });

  it("fails with Quay's retries: the start date kept until none are left, then the next interval", async () => {
    const id = await mirror("failing", ["*"]);
    const upstream = new FakeUpstream();
    upstream.failTags = new UpstreamError("unreachable", "connection refused");
    const start = (await configOf(id)).syncStartDate;
    for (const left of [2, 1]) {
      expect(await runMirrorSync(env, id, () => upstream)).toBe("FAIL");
      expect(await configOf(id)).toMatchObject({
        syncStatus: "FAIL",
        syncRetriesRemaining: left,
        syncStartDate: start,
      });
    }
    expect(await runMirrorSync(env, id, () => upstream)).toBe("FAIL");
    const last = await configOf(id);
    expect(last).toMatchObject({ syncStatus: "FAIL", syncRetriesRemaining: 3 });
    expect(last.syncStartDate!).toBeGreaterThan(Date.now());
  });

  it("runs one sync per repository at a time", async () => {
    const id = await mirror("once", ["*"]);
    const upstream = new FakeUpstream();
    await upstream.image("a");
    const results = await Promise.all([runMirrorSync(env, id, () => upstream), runMirrorSync(env, id, () => upstream)]);
    expect(results.filter((r) => r === "SUCCESS")).toHaveLength(1);
    expect(results.filter((r) => r === null)).toHaveLength(1);
  });

  it("stops between tags when cancelled, keeping what was copied", async () => {
    const id = await mirror("cancelled", ["*"]);
    const upstream = new FakeUpstream();
    await upstream.image("a");
    await upstream.image("b");
    await upstream.image("c");
    upstream.beforeManifest = async (reference) => {
      if (reference === "a") await fixtureCall(olga, "POST", "/repository/olga/cancelled/mirror/sync-cancel");
    };
    vi.spyOn(env.EVENTS, "send").mockResolvedValue(undefined as never);
    expect(await runMirrorSync(env, id, () => upstream)).toBe("CANCEL");
    expect(Object.keys(await localTags("olga/cancelled"))).toEqual(["a"]);
    expect(await configOf(id)).toMatchObject({
      syncStatus: "CANCEL",
      syncRetriesRemaining: 0,
      syncExpirationDate: null,
    });
    // Cancelled stays cancelled until sync-now.
    advanceClock(7_200_000);
    expect(await runMirrorSync(env, id, () => upstream)).toBeNull();
    await fixtureCall(olga, "POST", "/repository/olga/cancelled/mirror/sync-now");
    expect(await runMirrorSync(env, id, () => upstream)).toBe("SUCCESS");
    expect(Object.keys(await localTags("olga/cancelled")).sort()).toEqual(["a", "b", "c"]);
  });

  it("takes from a hostile upstream only names a tag can have, and survives its bad answers", async () => {
    const id = await mirror("hostile", ["*"]);
    const upstream = new FakeUpstream();
    const good = await upstream.image("good");
    await upstream.image("missing-bytes");
    upstream.blobs.delete([...upstream.blobs.keys()].at(-1)!);
    const bogus = ["../etc", "a/b", "x".repeat(129), "-dash", "", "tag with space", "ünï"];
    const listTags = upstream.listTags.bind(upstream);
    upstream.listTags = async () => [...(await listTags()), ...bogus, "good"];
    const getManifest = upstream.getManifest.bind(upstream);
    upstream.getManifest = async (repository, reference) => {
      const found = await getManifest(repository, reference);
      return reference === "missing-bytes" && found ? { ...found, bytes: bytesOf("{not json") } : found;
    };
    expect(await runMirrorSync(env, id, () => upstream)).toBe("FAIL");
    expect(await localTags("olga/hostile")).toEqual({ good });
    expect(upstream.asked.filter((a) => bogus.some((b) => a.endsWith(` ${b}`)))).toEqual([]);
  });

  it("is queued by the cron's scan when due, and only then", async () => {
    const due = await mirror("scanned", ["*"]);
    const later = await mirror("later", ["*"], "2099-01-01T00:00:00Z");
    const sent: unknown[] = [];
    vi.spyOn(env.EVENTS, "send").mockImplementation(async (body) => {
      sent.push(body);
      return undefined as never;
    });
    await queueDueMirrors(env, Date.now());
    expect(sent).toContainEqual({ type: "mirror_sync", repositoryId: due });
    expect(sent).not.toContainEqual({ type: "mirror_sync", repositoryId: later });
    // Out of state MIRROR, a mirror is not synced (Quay's get_eligible_mirrors).
    await fixtureCall(olga, "PUT", "/repository/olga/scanned/changestate", { state: "NORMAL" });
    sent.length = 0;
    await queueDueMirrors(env, Date.now());
    expect(sent).not.toContainEqual({ type: "mirror_sync", repositoryId: due });
  });
});

describe("a sync's log kinds and notifications", () => {
  it("logs repo_mirror_sync_started, _tag_success, _tag_failed, _failed, and notifies", async () => {
    const id = await mirror("logged", ["*"]);
    await fixtureCall(olga, "POST", "/repository/olga/logged/notification/", {
      event: "repo_mirror_sync_failed",
      method: "webhook",
      config: { url: "https://hooks.example.com/mirror" },
      eventConfig: {},
    });
    const upstream = new FakeUpstream();
    await upstream.image("good");
    await upstream.image("bad");
    upstream.blobs.clear();
    await upstream.image("good");
    const logs = recordLogs();
    const deliveries = recordDeliveries();
    expect(await runMirrorSync(env, id, () => upstream)).toBe("FAIL");
    await logs.deliver();
    const path = "/repository/olga/logged/logs";
    // Quay's emit_log metadata: verb, namespace, repo, message, tag, tags.
    const started = await entryOf(olga, path, "repo_mirror_sync_started");
    expect(started.metadata).toEqual({
      repo: "logged",
      namespace: "olga",
      verb: "start",
      message: "'upstream.example.com/library/alpine' with tag pattern '*'",
      tag: null,
      tags: null,
    });
    expect((await entryOf(olga, path, "repo_mirror_sync_tag_success")).metadata).toMatchObject({
      tag: "good",
      verb: "finish",
    });
    expect((await entryOf(olga, path, "repo_mirror_sync_tag_failed")).metadata).toMatchObject({
      tag: "bad",
      message: "Source 'upstream.example.com/library/alpine:bad' failed to sync",
    });
    const failed = await entryOf(olga, path, "repo_mirror_sync_failed");
    expect(failed.metadata).toMatchObject({
      verb: "end",
      message: "'upstream.example.com/library/alpine' with tag pattern '*': PARTIAL SYNC",
      tags: "bad(FAILED), good",
    });
    // Quay's emit_log names no performer.
    expect(failed.performer).toBeUndefined();
    expect(deliveries.map((d) => [d.event, d.payload.message])).toEqual([
      ["repo_mirror_sync_failed", "'upstream.example.com/library/alpine' with tag pattern '*': PARTIAL SYNC"],
    ]);
  });

  it("logs repo_mirror_sync_success", async () => {
    const id = await mirror("logged-ok", ["none-match"]);
    const logs = recordLogs();
    expect(await runMirrorSync(env, id, () => new FakeUpstream())).toBe("SUCCESS");
    await logs.deliver();
    const entry = await entryOf(olga, "/repository/olga/logged-ok/logs", "repo_mirror_sync_success");
    expect(entry.metadata).toMatchObject({ verb: "end", tags: "No tags matched" });
  });
});
