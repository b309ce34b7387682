/**
 * How an upload session learns its digest (src/registry/upload-hash.ts) and when it stores one
 * object (src/registry/upload-single.ts), through the registry's HTTP surface, with the session's
 * saved state read from its Durable Object.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../../src/db/client";
import { blobs } from "../../../src/db/schema";
import { Sha256 } from "../../../src/lib/sha256";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import {
  closeUpload,
  concatBytes,
  errorCode,
  expectBlobContent,
  openUpload,
  patchChunk,
  randomBytes,
  request,
  sha256,
  uniqueName,
} from "../helpers/registry";

interface SessionRow {
  offset: number;
  hash: Record<string, unknown>;
  multipart: { key: string; uploadId: string } | null;
  single?: { key: string; length: number } | null;
}

function stubOf(location: string) {
  const uuid = location.split("/").pop()!;
  return { uuid, stub: env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(uuid)) };
}

function stateOf(location: string): Promise<SessionRow | null> {
  return runInDurableObject(stubOf(location).stub, (_instance, state) => {
    const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM session").toArray()[0];
    return row ? (JSON.parse(row.state) as SessionRow) : null;
  });
}

/** Resets the session's Durable Object, as an eviction or a deploy does: its memory is lost, its storage kept. */
async function evict(location: string): Promise<void> {
  await runInDurableObject(stubOf(location).stub, (_instance, state) => {
    try {
      state.abort("evicted by the test");
    } catch {
      // abort() throws in the caller by design.
    }
  }).catch(() => undefined);
}

/** A PATCH whose body is a stream: no Content-Length, as docker and podman send a layer. */
function streamedPatch(location: string, data: Uint8Array): Promise<Response> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < data.byteLength; at += 1 << 20) controller.enqueue(data.slice(at, at + (1 << 20)));
      controller.close();
    },
  });
  return request("PATCH", location, { body, headers: { "Content-Type": "application/octet-stream" } });
}

/** A PATCH of the whole blob with its Content-Length and no Content-Range. */
function wholePatch(location: string, data: Uint8Array): Promise<Response> {
  return request("PATCH", location, {
    body: data,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(data.byteLength) },
  });
}

const hexOf = (digest: string) => digest.slice("sha256:".length);

async function storageKeyOf(digest: string): Promise<string | undefined> {
  const row = await database(env.DB).select().from(blobs).where(eq(blobs.digest, digest)).get();
  return row?.storageKey;
}

async function expectRefused(name: string, location: string, res: Response, digests: string[]) {
  expect(res.status).toBe(400);
  expect(await errorCode(res)).toBe("DIGEST_INVALID");
  expect((await request("GET", location)).status).toBe(404);
  for (const digest of digests) expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  expect((await env.BLOBS.list({ prefix: `uploads/${stubOf(location).uuid}` })).objects).toHaveLength(0);
}

describe("the digest of a session upload", () => {
  it("one streamed PATCH (docker, podman) is hashed natively: the PUT uses the saved digest", async () => {
    const name = uniqueName("dig");
    const location = await openUpload(name);
    const data = randomBytes(2 * PART_SIZE + 5);
    const digest = await sha256(data);
    expect((await streamedPatch(location, data)).status).toBe(202);
    const state = await stateOf(location);
    expect(state?.hash).toEqual({ native: hexOf(digest), length: data.byteLength });
    expect(state?.multipart?.key).toBe(`uploads/${stubOf(location).uuid}`);
    expect((await closeUpload(location, digest)).status).toBe(201);
    await expectBlobContent(name, digest, data);
  });

  it.each([false, true])(
    "chunks (Content-Range) keep a native hash open between requests; without it (memory lost: %s) the PUT reads the object back",
    async (evicted) => {
      const name = uniqueName("dig");
      const location = await openUpload(name);
      const chunks = [randomBytes(PART_SIZE + 7), randomBytes(1000)];
      const last = randomBytes(33);
      const data = concatBytes(...chunks, last);
      expect((await patchChunk(location, chunks[0]!, 0)).status).toBe(202);
      // What is saved is deferred: the open hash lives only in the object's memory.
      expect((await stateOf(location))?.hash).toEqual({ deferred: true });
      if (evicted) await evict(location);
      expect((await patchChunk(location, chunks[1]!, PART_SIZE + 7)).status).toBe(202);
      const digest = await sha256(data);
      const range = { "Content-Range": `${PART_SIZE + 1007}-${PART_SIZE + 1039}` };
      expect((await closeUpload(location, digest, last, range)).status).toBe(201);
      await expectBlobContent(name, digest, data);
      expect(await storageKeyOf(digest)).toBe(`uploads/${stubOf(location).uuid}`);
    },
  );

  it.each([false, true])(
    "a chunked upload's wrong digest (memory lost: %s) deletes what it stored and links nothing",
    async (evicted) => {
      const name = uniqueName("dig");
      const location = await openUpload(name);
      const data = randomBytes(PART_SIZE + 50);
      expect((await patchChunk(location, data.subarray(0, PART_SIZE + 10), 0)).status).toBe(202);
      expect((await patchChunk(location, data.subarray(PART_SIZE + 10), PART_SIZE + 10)).status).toBe(202);
      if (evicted) await evict(location);
      // A digest the registry already holds: a client must not get it linked by claiming it.
      const known = randomBytes(100);
      const claimed = await sha256(known);
      await request("POST", `/v2/${uniqueName("other")}/blobs/uploads/?digest=${claimed}`, { body: known });
      const res = await closeUpload(location, claimed);
      await expectRefused(name, location, res, [claimed, await sha256(data)]);
    },
  );

  it("a chunk that fails half-way drops the open hash: the retried chunk and the PUT still verify", async () => {
    const name = uniqueName("dig");
    const location = await openUpload(name);
    const first = randomBytes(PART_SIZE + 5);
    expect((await patchChunk(location, first, 0)).status).toBe(202);
    // 30 bytes announced, 20 sent: the open hash took bytes that are not saved.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(randomBytes(20));
        controller.close();
      },
    });
    const refused = await request("PATCH", location, {
      body,
      headers: { "Content-Range": `${first.byteLength}-${first.byteLength + 29}` },
    });
    expect(refused.status).toBe(416);
    const rest = randomBytes(30);
    expect((await patchChunk(location, rest, first.byteLength)).status).toBe(202);
    const data = concatBytes(first, rest);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("small chunks (no part cut) whose open hash was lost: the PUT hashes the session's tail", async () => {
    const name = uniqueName("dig");
    const good = await openUpload(name);
    const data = randomBytes(3000);
    expect((await patchChunk(good, data.subarray(0, 1000), 0)).status).toBe(202);
    expect((await patchChunk(good, data.subarray(1000), 1000)).status).toBe(202);
    expect((await stateOf(good))?.hash).toEqual({ deferred: true });
    await evict(good);
    expect((await closeUpload(good, await sha256(data))).status).toBe(201);
    await expectBlobContent(name, await sha256(data), data);

    const bad = await openUpload(name);
    expect((await patchChunk(bad, data.subarray(0, 1000), 0)).status).toBe(202);
    expect((await patchChunk(bad, data.subarray(1000, 2000), 1000)).status).toBe(202);
    await evict(bad);
    await expectRefused(name, bad, await closeUpload(bad, await sha256(data)), []);
  });

  it("a session saved before native hashing (a JavaScript SHA-256 state) resumes and finishes", async () => {
    const name = uniqueName("dig");
    for (const wrong of [false, true]) {
      const location = await openUpload(name);
      const first = randomBytes(PART_SIZE + 3);
      const second = randomBytes(500);
      expect((await patchChunk(location, first, 0)).status).toBe(202);
      // What the previous release saved: the JavaScript hasher's state after the first chunk.
      await runInDurableObject(stubOf(location).stub, (_instance, state) => {
        const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM session").one();
        const saved = { ...JSON.parse(row.state), hash: new Sha256().update(first).exportState() };
        state.storage.sql.exec("UPDATE session SET state = ?", JSON.stringify(saved));
      });
      expect((await patchChunk(location, second, first.byteLength)).status).toBe(202);
      expect((await stateOf(location))?.hash).toHaveProperty("h");
      const data = concatBytes(first, second);
      const res = await closeUpload(location, await sha256(wrong ? first : data));
      if (wrong) await expectRefused(name, location, res, [await sha256(first)]);
      else await expectBlobContent(name, await sha256(data), data);
    }
  });
});

describe("a blob that arrives in one request of known length is one object", () => {
  it("a PATCH with Content-Length and no Content-Range is stored as one object, hashed natively", async () => {
    const name = uniqueName("one");
    const location = await openUpload(name);
    const data = randomBytes(PART_SIZE + 10);
    const digest = await sha256(data);
    expect((await wholePatch(location, data)).status).toBe(202);
    const key = `uploads/${stubOf(location).uuid}`;
    const state = await stateOf(location);
    expect(state).toMatchObject({ multipart: null, single: { key, length: data.byteLength } });
    expect(state?.hash).toEqual({ native: hexOf(digest), length: data.byteLength });
    expect((await env.BLOBS.head(key))?.size).toBe(data.byteLength);
    expect((await closeUpload(location, digest)).status).toBe(201);
    expect(await storageKeyOf(digest)).toBe(key);
    await expectBlobContent(name, digest, data);
  });

  it("a body that ends before its Content-Length stores nothing and leaves the upload as it was", async () => {
    const name = uniqueName("one");
    const location = await openUpload(name);
    const { uuid, stub } = stubOf(location);
    const declared = PART_SIZE + 10;
    const body = new ReadableStream({
      type: "bytes",
      start(controller) {
        controller.enqueue(randomBytes(PART_SIZE));
        controller.close();
      },
    });
    const outcome = await stub.append(name, body, { range: null, length: declared });
    expect(outcome).toMatchObject({ ok: false, error: { kind: "invalid", subject: "size" } });
    expect(await stateOf(location)).toMatchObject({ offset: 0, multipart: null, hash: { native: expect.any(String) } });
    expect((await stateOf(location))?.single ?? null).toBeNull();
    expect(await env.BLOBS.head(`uploads/${uuid}`)).toBeNull();
    const data = randomBytes(declared);
    expect((await wholePatch(location, data)).status).toBe(202);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("a wrong digest at the PUT deletes the one object", async () => {
    const name = uniqueName("one");
    const location = await openUpload(name);
    const data = randomBytes(PART_SIZE);
    expect((await wholePatch(location, data)).status).toBe(202);
    await expectRefused(name, location, await closeUpload(location, await sha256("other")), [await sha256(data)]);
  });

  it("a chunk after it moves the upload to a multipart object at another key, deleting the one object", async () => {
    const name = uniqueName("one");
    const location = await openUpload(name);
    const first = randomBytes(PART_SIZE + 99);
    const second = randomBytes(PART_SIZE + 1);
    expect((await wholePatch(location, first)).status).toBe(202);
    const { uuid } = stubOf(location);
    const res = await patchChunk(location, second, first.byteLength);
    expect(res.status).toBe(202);
    expect(res.headers.get("Range")).toBe(`0-${first.byteLength + second.byteLength - 1}`);
    const state = await stateOf(location);
    expect(state).toMatchObject({ single: null, hash: { deferred: true } });
    expect(state?.multipart?.key).toBe(`uploads/${uuid}.continued`);
    expect(await env.BLOBS.head(`uploads/${uuid}`)).toBeNull();
    const data = concatBytes(first, second);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    expect(await storageKeyOf(await sha256(data))).toBe(`uploads/${uuid}.continued`);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("a PUT carrying the whole blob stores it at its content address, checked by R2", async () => {
    const name = uniqueName("one");
    const data = randomBytes(PART_SIZE + 1);
    const digest = await sha256(data);
    const bad = await openUpload(name);
    await expectRefused(name, bad, await closeUpload(bad, await sha256("x"), data), [digest]);
    const good = await openUpload(name);
    expect((await closeUpload(good, digest, data)).status).toBe(201);
    expect(await storageKeyOf(digest)).toBe(`blobs/sha256/${hexOf(digest)}`);
    expect((await request("GET", good)).status).toBe(404);
    await expectBlobContent(name, digest, data);
  });
});

describe("a closing PUT that died after assembling the object", () => {
  /** Two whole parts in two chunks, memory lost, then the object assembled as the PUT had begun to. */
  async function assembledUpload(name: string) {
    const location = await openUpload(name);
    const data = randomBytes(2 * PART_SIZE);
    expect((await patchChunk(location, data.subarray(0, PART_SIZE), 0)).status).toBe(202);
    expect((await patchChunk(location, data.subarray(PART_SIZE), PART_SIZE)).status).toBe(202);
    await evict(location);
    await runInDurableObject(stubOf(location).stub, async (_instance, state) => {
      const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM session").one();
      const saved = JSON.parse(row.state);
      expect(saved.parts).toHaveLength(2);
      await env.BLOBS.resumeMultipartUpload(saved.multipart.key, saved.multipart.uploadId).complete(saved.parts);
      state.storage.sql.exec("UPDATE session SET state = ?", JSON.stringify({ ...saved, assembled: true }));
    });
    return { location, data, key: `uploads/${stubOf(location).uuid}` };
  }

  it("a retried PUT checks the assembled object and records it", async () => {
    const name = uniqueName("asm");
    const { location, data, key } = await assembledUpload(name);
    // No byte may be added any more: the PUT's chunk is refused with where the upload stands.
    const late = await closeUpload(location, await sha256(data), randomBytes(3), {
      "Content-Range": `${data.byteLength}-${data.byteLength + 2}`,
    });
    expect(late.status).toBe(416);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    expect(await storageKeyOf(await sha256(data))).toBe(key);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("a wrong digest deletes the assembled object (an abort would no longer remove it)", async () => {
    const name = uniqueName("asm");
    const { location, data, key } = await assembledUpload(name);
    expect((await env.BLOBS.head(key))?.size).toBe(data.byteLength);
    await expectRefused(name, location, await closeUpload(location, await sha256("x")), [await sha256(data)]);
  });
});
