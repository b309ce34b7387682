/**
 * How R2BlobStore reads R2 (src/storage/r2-blob-store.ts): a single object's range in two gets
 * whatever its length, a multipart object's in segments, told apart by the ETag that R2 gives
 * each. The stores here read 6 MiB segments, to keep the objects small; the bytes themselves are
 * the contract suite's (blob-store-contract.ts).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isMultipartEtag, R2BlobStore } from "../../../src/storage/r2-blob-store";

const MiB = 1024 * 1024;
const SEGMENT = 6 * MiB;

function bytesOf(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}

/** The BLOBS bucket, recording the range of every get. */
function countingBucket() {
  const gets: { offset?: number; length?: number }[] = [];
  const bucket = new Proxy(env.BLOBS, {
    get(target, property) {
      if (property === "get")
        return (key: string, options?: R2GetOptions) => {
          gets.push({ ...(options?.range as { offset?: number; length?: number } | undefined) });
          return target.get(key, options);
        };
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { bucket, gets };
}

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  return (await new Response(body).arrayBuffer()).byteLength;
}

describe("R2BlobStore reads", () => {
  // 3 × 5 MiB: past two read segments, so that a multipart read takes three gets.
  const size = 15 * MiB;

  it("tells a multipart object's ETag from a single object's", async () => {
    const prefix = `r2-reads-${crypto.randomUUID()}/`;
    await env.BLOBS.put(`${prefix}single`, bytesOf(1000));
    const upload = await env.BLOBS.createMultipartUpload(`${prefix}multi`);
    const parts = [await upload.uploadPart(1, bytesOf(5 * MiB)), await upload.uploadPart(2, bytesOf(10))];
    await upload.complete(parts);
    expect(isMultipartEtag((await env.BLOBS.head(`${prefix}single`))!.etag)).toBe(false);
    expect(isMultipartEtag((await env.BLOBS.head(`${prefix}multi`))!.etag)).toBe(true);
    expect(isMultipartEtag("f77dc0eecdebcd774a2a22cb393ad2ff-2")).toBe(true);
    expect(isMultipartEtag("bce6bf66aeb76c7040fdd5f4eccb78e6")).toBe(false);
  });

  it("reads a single object's range in two gets: one segment, then the rest", async () => {
    const key = `r2-reads-${crypto.randomUUID()}/single`;
    await env.BLOBS.put(key, bytesOf(size));
    const { bucket, gets } = countingBucket();
    const object = (await new R2BlobStore(bucket, SEGMENT).get(key, { start: 0, end: size - 1 }))!;
    expect(await drain(object.body)).toBe(size);
    expect(gets).toEqual([
      { offset: 0, length: SEGMENT },
      { offset: SEGMENT, length: size - SEGMENT },
    ]);
  });

  it("reads a multipart object's range in segments, one get each", async () => {
    const key = `r2-reads-${crypto.randomUUID()}/multi`;
    const upload = await env.BLOBS.createMultipartUpload(key);
    const parts: R2UploadedPart[] = [];
    for (let i = 1; i <= 3; i++) parts.push(await upload.uploadPart(i, bytesOf(5 * MiB)));
    await upload.complete(parts);
    const { bucket, gets } = countingBucket();
    const object = (await new R2BlobStore(bucket, SEGMENT).get(key, { start: 0, end: size - 1 }))!;
    expect(await drain(object.body)).toBe(size);
    expect(gets).toEqual([
      { offset: 0, length: SEGMENT },
      { offset: SEGMENT, length: SEGMENT },
      { offset: 2 * SEGMENT, length: size - 2 * SEGMENT },
    ]);
  });

  it("makes segments larger rather than exceed the most gets a read may make", async () => {
    const key = `r2-reads-${crypto.randomUUID()}/few-gets`;
    const upload = await env.BLOBS.createMultipartUpload(key);
    const parts: R2UploadedPart[] = [];
    for (let i = 1; i <= 3; i++) parts.push(await upload.uploadPart(i, bytesOf(5 * MiB)));
    await upload.complete(parts);
    const { bucket, gets } = countingBucket();
    // 1 MiB segments would take 15 gets; at most 4 are allowed: 1 MiB, then 3 of 14/3 MiB.
    const object = (await new R2BlobStore(bucket, MiB, 4).get(key, { start: 0, end: size - 1 }))!;
    expect(await drain(object.body)).toBe(size);
    const step = Math.ceil((14 * MiB) / 3);
    expect(gets).toEqual([
      { offset: 0, length: MiB },
      { offset: MiB, length: step },
      { offset: MiB + step, length: step },
      { offset: MiB + 2 * step, length: 14 * MiB - 2 * step },
    ]);
  });

  it("reads a large multipart object asked for whole in segments too, after one get that learns its size", async () => {
    const key = `r2-reads-${crypto.randomUUID()}/whole-multi`;
    const upload = await env.BLOBS.createMultipartUpload(key);
    const parts: R2UploadedPart[] = [];
    for (let i = 1; i <= 3; i++) parts.push(await upload.uploadPart(i, bytesOf(5 * MiB)));
    await upload.complete(parts);
    await env.BLOBS.put(`${key}-single`, bytesOf(size));
    const { bucket, gets } = countingBucket();
    const store = new R2BlobStore(bucket, SEGMENT);
    const object = (await store.get(key))!;
    expect(object.size).toBe(size);
    expect(await drain(object.body)).toBe(size);
    expect(gets).toEqual([
      {},
      { offset: 0, length: SEGMENT },
      { offset: SEGMENT, length: SEGMENT },
      { offset: 2 * SEGMENT, length: size - 2 * SEGMENT },
    ]);
    // A single object read whole is one get.
    gets.length = 0;
    expect(await drain((await store.get(`${key}-single`))!.body)).toBe(size);
    expect(gets).toEqual([{}]);
  });

  it("reads a range within the first segment in one get, and a missing key as null", async () => {
    const key = `r2-reads-${crypto.randomUUID()}/small`;
    await env.BLOBS.put(key, bytesOf(3 * MiB));
    const { bucket, gets } = countingBucket();
    const store = new R2BlobStore(bucket, SEGMENT);
    const object = (await store.get(key, { start: 10, end: 3 * MiB + 99 }))!;
    expect(object.size).toBe(3 * MiB);
    expect(await drain(object.body)).toBe(3 * MiB - 10);
    expect(gets).toHaveLength(1);
    expect(await store.get(`${key}-missing`, { start: 0, end: 9 })).toBeNull();
  });
});
