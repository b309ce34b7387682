import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clock } from "../../../src/lib/clock";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import { advanceClock } from "../helpers/clock";
import {
  errorCode,
  openUpload,
  patchChunk,
  randomBytes,
  request,
  sha256,
  uniqueName,
  withDigest,
} from "../helpers/registry";

const EXPIRY_MS = Number(env.UPLOAD_EXPIRY_SECONDS) * 1000;

interface SessionRow {
  offset: number;
  multipart: { key: string; uploadId: string } | null;
  parts: { partNumber: number; etag: string }[];
}

function sessionOf(location: string) {
  const uuid = location.split("/").pop()!;
  return { uuid, stub: env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(uuid)) };
}

function alarmOf(stub: DurableObjectStub): Promise<number | null> {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}

function stateOf(stub: DurableObjectStub): Promise<SessionRow | null> {
  return runInDurableObject(stub, (_instance, state) => {
    const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM session").toArray()[0];
    return row ? (JSON.parse(row.state) as SessionRow) : null;
  });
}

describe("UploadSessionDO alarm", () => {
  it("is scheduled UPLOAD_EXPIRY_SECONDS ahead on open and pushed back on every PATCH", async () => {
    expect(EXPIRY_MS).toBe(86_400_000);
    const before = clock.now();
    const location = await openUpload(uniqueName("alarm"));
    const { stub } = sessionOf(location);
    const opened = await alarmOf(stub);
    expect(opened).not.toBeNull();
    expect(opened!).toBeGreaterThanOrEqual(before + EXPIRY_MS);
    expect(opened!).toBeLessThanOrEqual(clock.now() + EXPIRY_MS);

    advanceClock(20);
    const beforePatch = clock.now();
    expect((await patchChunk(location, randomBytes(10), 0)).status).toBe(202);
    const patched = await alarmOf(stub);
    expect(patched!).toBeGreaterThan(opened!);
    expect(patched!).toBeGreaterThanOrEqual(beforePatch + EXPIRY_MS);
    expect(patched!).toBeLessThanOrEqual(clock.now() + EXPIRY_MS);
  });

  it("discards an abandoned upload, its multipart parts included", async () => {
    const name = uniqueName("alarm");
    const location = await openUpload(name);
    const { stub } = sessionOf(location);
    expect((await patchChunk(location, randomBytes(PART_SIZE + 123), 0)).status).toBe(202);
    const state = await stateOf(stub);
    expect(state?.offset).toBe(PART_SIZE + 123);
    expect(state?.multipart).not.toBeNull();
    expect(state?.parts).toHaveLength(1);

    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const res = await request("GET", location);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await stateOf(stub)).toBeNull();
    expect(await alarmOf(stub)).toBeNull();
    // The R2 multipart upload was aborted: its parts can no longer be assembled.
    const { key, uploadId } = state!.multipart!;
    await expect(env.BLOBS.resumeMultipartUpload(key, uploadId).complete(state!.parts)).rejects.toThrow();
    expect(await env.BLOBS.head(key)).toBeNull();
    // Nothing to finish any more.
    const put = await request("PUT", withDigest(location, await sha256("x")), { headers: { "Content-Length": "0" } });
    expect(put.status).toBe(404);
    expect(await errorCode(put)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("of an upload stored as one object counts from that object's write: empty PATCHes do not push it back", async () => {
    const name = uniqueName("alarm");
    const location = await openUpload(name);
    const { uuid, stub } = sessionOf(location);
    const data = randomBytes(PART_SIZE);
    const before = clock.now();
    const whole = await request("PATCH", location, { body: data, headers: { "Content-Length": String(PART_SIZE) } });
    expect(whole.status).toBe(202);
    expect((await env.BLOBS.head(`uploads/${uuid}`))?.size).toBe(PART_SIZE);
    const written = await alarmOf(stub);
    expect(written!).toBeGreaterThanOrEqual(before + EXPIRY_MS);
    expect(written!).toBeLessThanOrEqual(clock.now() + EXPIRY_MS);

    advanceClock(20);
    const empty = await request("PATCH", location, { body: new Uint8Array(0), headers: { "Content-Length": "0" } });
    expect(empty.status).toBe(202);
    expect(await alarmOf(stub)).toBe(written);

    // Before the R2 sweep could take the object for an orphan, the alarm discards it with the upload.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await env.BLOBS.head(`uploads/${uuid}`)).toBeNull();
    expect((await request("GET", location)).status).toBe(404);
  });

  it("discards an abandoned upload that never received a byte", async () => {
    const location = await openUpload(uniqueName("alarm"));
    const { stub } = sessionOf(location);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await request("GET", location)).status).toBe(404);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it("is cleared when the upload is finished or cancelled", async () => {
    const name = uniqueName("alarm");
    const finished = await openUpload(name);
    const data = randomBytes(100);
    expect((await patchChunk(finished, data, 0)).status).toBe(202);
    expect(
      (await request("PUT", withDigest(finished, await sha256(data)), { headers: { "Content-Length": "0" } })).status,
    ).toBe(201);
    expect(await alarmOf(sessionOf(finished).stub)).toBeNull();

    const cancelled = await openUpload(name);
    expect((await request("DELETE", cancelled)).status).toBe(204);
    expect(await alarmOf(sessionOf(cancelled).stub)).toBeNull();
    // The finished blob stays readable: the alarm only ever concerns open uploads.
    expect((await request("GET", `/v2/${name}/blobs/${await sha256(data)}`)).status).toBe(200);
  });
});
