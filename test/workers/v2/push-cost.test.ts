/**
 * What a manifest PUT costs in D1 round trips (a statement run alone, or a batch), counted on the
 * D1 binding the Worker and the repository's Durable Object share. The events outbox adds no round
 * trip before the answer (push_repo joins the commit's batch); its publication, after the answer,
 * deletes the outbox row: one more. Before the outbox (168f1c6), the same pushes made 10 round
 * trips to a new tag and 11 moving a tag (the Durable Object read the alive tag and then its
 * manifest's digest, now one join), and none after the answer. Until 2026-12-08 they made 10 with
 * the outbox: the blob touch and the links were two, the Durable Object's four reads one after the
 * other, and every push read its image config again (src/registry/push-memory.ts).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { namespaceQuotas, quotaLimits, users } from "../../../src/db/schema";
import { initializeAdmin } from "../helpers/api";
import { makeUser } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import {
  closeUpload,
  expectBlobContent,
  imageManifest,
  OCI_MANIFEST,
  openUpload,
  patchChunk,
  randomBytes,
  registryToken,
  request,
  sha256,
} from "../helpers/registry";

beforeAll(async () => {
  await makeUser(await initializeAdmin(), "olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Records D1 round trips from now on, as the queries each sends: a statement run alone is one, a
 * batch (its statements together) is one.
 */
function recordRoundTrips(): string[][] {
  const trips: string[][] = [];
  const queries = new Map<D1PreparedStatement, string>();
  /** Makes `statement`'s runs count, and the statements it binds. */
  const counted = (statement: D1PreparedStatement, query: string): D1PreparedStatement => {
    queries.set(statement, query);
    for (const method of ["all", "first", "run", "raw"] as const) {
      const run = (statement[method] as (...args: unknown[]) => Promise<unknown>).bind(statement);
      Object.assign(statement, {
        [method]: (...args: unknown[]) => {
          trips.push([query]);
          return run(...args);
        },
      });
    }
    const bind = statement.bind.bind(statement);
    Object.assign(statement, { bind: (...values: unknown[]) => counted(bind(...values), query) });
    return statement;
  };
  const prepare = env.DB.prepare.bind(env.DB);
  const batch = env.DB.batch.bind(env.DB);
  const withSession = env.DB.withSession.bind(env.DB);
  vi.spyOn(env.DB, "prepare").mockImplementation((query: string) => counted(prepare(query), query));
  vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
    trips.push(statements.map((statement) => queries.get(statement) ?? "?"));
    return batch(statements);
  });
  // /v2 requests read and write through a D1 session (src/middleware/db-session.ts): counted alike.
  vi.spyOn(env.DB, "withSession").mockImplementation((constraint) => {
    const session = withSession(constraint);
    return {
      prepare: (query: string) => counted(session.prepare(query), query),
      batch: async (statements: D1PreparedStatement[]) => {
        trips.push(statements.map((statement) => queries.get(statement) ?? "?"));
        return session.batch(statements);
      },
      getBookmark: () => session.getBookmark(),
    } as D1DatabaseSession;
  });
  return trips;
}

/** The round trips of a manifest PUT: those it makes to answer, and those that publish its event. */
async function measuredPut(name: string, tag: string, manifest: string, token: string) {
  const recorder = recordEvents();
  const trips = recordRoundTrips();
  const res = await request("PUT", `/v2/${name}/manifests/${tag}`, {
    token,
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(res.status).toBe(201);
  await recorder.published();
  vi.restoreAllMocks();
  // The publication runs after the answer (waitUntil), so it is told apart by what it does.
  const publishing = (trip: string[]) => trip.some((query) => query.startsWith('delete from "event_outbox"'));
  // The recorder's own reads of the outbox are the test's.
  const waiting = (trip: string[]) => trip.some((query) => /^select .* from "event_outbox"/s.test(query));
  return {
    answering: trips.filter((trip) => !publishing(trip) && !waiting(trip)),
    publishing: trips.filter(publishing),
  };
}

it("a manifest PUT by tag: 6 D1 round trips to answer (7 with a config not seen before), and 1 to publish its event", async () => {
  const name = "olga/costed";
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "olga");
  const first = await imageManifest(name);
  const second = await imageManifest(name);
  // A first manifest ends the repository's first push; the pushes measured are ordinary ones.
  expect((await measuredPut(name, "first", first, token)).publishing).toHaveLength(1);

  // The same manifest under a new tag. Write re-check (2 reads issued together), repository, the
  // blob touch and links in one batch; its image config's labels are the isolate's already. In
  // the repository's Durable Object, one batch of reads: the repository's name (with the
  // namespace's quota rules and usage), the links again, the alive tag; then the commit's batch,
  // with push_repo's outbox row and the usage charge in it.
  const r2 = recordR2();
  const created = await measuredPut(name, "v1", first, token);
  expect(created.answering.length, JSON.stringify(created.answering, null, 1)).toBe(6);
  expect(created.answering[3]).toEqual([
    expect.stringContaining('update "blobs" set "last_used_at"'),
    expect.stringContaining('select "digest" from "repository_blobs"'),
  ]);
  expect(created.answering[4]).toHaveLength(3);
  expect(created.answering.at(-1)).toContain(
    'insert into "event_outbox" ("id", "created_at", "body") values (?, ?, ?)',
  );
  expect(created.publishing).toHaveLength(1);
  // Its bytes were written moments ago by this isolate, and its config's labels read: no R2 call.
  expect(r2).toEqual([]);

  // Moving the tag to a manifest of another config: that config's one read (its blob row, then R2).
  const moved = await measuredPut(name, "v1", second, token);
  expect(moved.answering.length, JSON.stringify(moved.answering, null, 1)).toBe(7);
  expect(moved.publishing).toHaveLength(1);
});

it("a manifest PUT into a namespace with a quota costs the same: the refusal and the crossings ride in the commit's batch", async () => {
  const db = database(env.DB);
  const olga = (await db.select().from(users).where(eq(users.username, "olga")).get())!;
  const quota = (await db
    .insert(namespaceQuotas)
    .values({ namespaceId: olga.id, limitBytes: 1 << 30 })
    .returning()
    .get())!;
  await db.insert(quotaLimits).values([
    { quotaId: quota.id, type: "Warning", thresholdPercent: 80 },
    { quotaId: quota.id, type: "Reject", thresholdPercent: 100 },
  ]);
  const name = "olga/limited";
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "olga");
  await measuredPut(name, "first", await imageManifest(name), token);
  const created = await measuredPut(name, "v1", await imageManifest(name), token);
  // A new config: 7, as moving a tag to a new image above.
  expect(created.answering.length, JSON.stringify(created.answering, null, 1)).toBe(7);
  const commit = created.answering.at(-1)!;
  expect(commit[0]).toContain("insert into quota_refusals");
  expect(commit.filter((query) => query.startsWith("update users set storage_bytes"))).toHaveLength(1);
  expect(created.publishing).toHaveLength(1);
});

/**
 * Records the R2 operations made from now on (by the Worker and by upload sessions, which share
 * the binding), a multipart upload's part and completion calls by name.
 */
function recordR2(): string[] {
  const calls: string[] = [];
  const bucket = env.BLOBS;
  for (const method of ["get", "head", "put", "delete", "list", "createMultipartUpload"] as const) {
    const original = (bucket[method] as (...args: unknown[]) => unknown).bind(bucket);
    vi.spyOn(bucket, method).mockImplementation(((...args: unknown[]) => {
      calls.push(method);
      return original(...args);
    }) as never);
  }
  const resume = bucket.resumeMultipartUpload.bind(bucket);
  vi.spyOn(bucket, "resumeMultipartUpload").mockImplementation((key, uploadId) => {
    const upload = resume(key, uploadId);
    const counted = (name: "uploadPart" | "complete" | "abort") =>
      ((...args: unknown[]) => {
        calls.push(name);
        return (upload[name] as (...a: unknown[]) => unknown).apply(upload, args);
      }) as never;
    return { ...upload, uploadPart: counted("uploadPart"), complete: counted("complete"), abort: counted("abort") };
  });
  return calls;
}

/** The R2 operations of `push` (what the blob costs to store), then a check that it pulls back. */
async function r2CallsOf(
  name: string,
  data: Uint8Array,
  push: (location: string, digest: string) => Promise<Response>,
) {
  const location = await openUpload(name);
  const digest = await sha256(data);
  const calls = recordR2();
  const res = await push(location, digest);
  vi.restoreAllMocks();
  expect(res.status).toBe(201);
  await expectBlobContent(name, digest, data);
  return calls.sort();
}

describe("R2 operations per uploaded blob", () => {
  const name = "olga/r2-costed";

  it("docker and podman (one PATCH without Content-Length, then PUT): parts and completion, no read-back", async () => {
    const data = randomBytes(2 * PART_SIZE + 5);
    const calls = await r2CallsOf(name, data, async (location, digest) => {
      const body = new Response(data).body!.pipeThrough(new TransformStream());
      expect((await request("PATCH", location, { body })).status).toBe(202);
      return closeUpload(location, digest);
    });
    // Three parts (the last is the tail, sent at the PUT); the digest was hashed natively on the way.
    expect(calls).toEqual(["complete", "createMultipartUpload", "uploadPart", "uploadPart", "uploadPart"]);
  });

  it("a whole blob in one PATCH with Content-Length: one put, nothing else", async () => {
    const data = randomBytes(PART_SIZE + 10);
    const calls = await r2CallsOf(name, data, async (location, digest) => {
      const headers = { "Content-Length": String(data.byteLength) };
      expect((await request("PATCH", location, { body: data, headers })).status).toBe(202);
      return closeUpload(location, digest);
    });
    expect(calls).toEqual(["put"]);
  });

  it("a whole blob in the PUT: one verified put and the size check", async () => {
    const data = randomBytes(PART_SIZE + 1);
    const calls = await r2CallsOf(name, data, (location, digest) => closeUpload(location, digest, data));
    expect(calls).toEqual(["head", "put"]);
  });

  it("chunks with Content-Range: parts and completion; the native hash stays open between them", async () => {
    const data = randomBytes(PART_SIZE + 1007);
    const calls = await r2CallsOf(name, data, async (location, digest) => {
      expect((await patchChunk(location, data.subarray(0, PART_SIZE + 7), 0)).status).toBe(202);
      // A chunk refused as out of order leaves the open hash as it was.
      expect((await patchChunk(location, data.subarray(0, 10), 3)).status).toBe(416);
      expect((await patchChunk(location, data.subarray(PART_SIZE + 7), PART_SIZE + 7)).status).toBe(202);
      return closeUpload(location, digest);
    });
    expect(calls).toEqual(["complete", "createMultipartUpload", "uploadPart", "uploadPart"]);
  });

  it("chunks whose session lost its memory between them: one read of the object to check its deferred digest", async () => {
    const data = randomBytes(PART_SIZE + 1007);
    const calls = await r2CallsOf(name, data, async (location, digest) => {
      expect((await patchChunk(location, data.subarray(0, PART_SIZE + 7), 0)).status).toBe(202);
      const stub = env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(location.split("/").pop()!));
      // As an eviction or a deploy: the object restarts, its storage kept.
      await runInDurableObject(stub, (_instance, state) => state.abort("evicted")).catch(() => undefined);
      expect((await patchChunk(location, data.subarray(PART_SIZE + 7), PART_SIZE + 7)).status).toBe(202);
      return closeUpload(location, digest);
    });
    // The read-back is one get per 16 MiB segment (src/storage/r2-blob-store.ts).
    expect(calls).toEqual(["complete", "createMultipartUpload", "get", "uploadPart", "uploadPart"]);
  });
});
