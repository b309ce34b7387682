import { describe, expect, it } from "vitest";
import { Sha256, type Sha256State } from "../../src/lib/sha256";
import { freshHash, type UploadHash } from "../../src/registry/upload-hash";
import { ingest, PART_SIZE, type IngestState } from "../../src/registry/upload-ingest";
import type { BlobStore, UploadedPart } from "../../src/storage/blob-store";

/** Only the multipart calls ingest makes; each part keeps a copy of the bytes it was given. */
function recordingStore() {
  const parts = new Map<number, Uint8Array>();
  const store = {
    createMultipart: async () => "upload-1",
    uploadPart: async (_key: string, _id: string, partNumber: number, bytes: Uint8Array): Promise<UploadedPart> => {
      parts.set(partNumber, bytes.slice());
      // Give the caller a chance to reuse the buffer before this settles, as a real upload would.
      await new Promise((r) => setTimeout(r, 1));
      return { partNumber, etag: `etag-${partNumber}` };
    },
  } as unknown as BlobStore;
  return { store, parts };
}

function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** A stream of `bytes` cut at `cuts`, either a byte stream (what workerd gives) or a default one. */
function streamOf(bytes: Uint8Array, cuts: number[], type: "bytes" | "default"): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(at, cut));
    at = cut;
  }
  if (type === "bytes") {
    return new ReadableStream({
      type: "bytes",
      pull(controller) {
        const next = pieces.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
  }
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = pieces.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

/** Byte equality through WebCrypto: vitest's deep equality walks 8 MiB arrays slowly. */
async function fingerprint(bytes: Uint8Array | undefined): Promise<string> {
  if (!bytes) return "missing";
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return `${bytes.length}:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A session saved before native hashing: its JavaScript SHA-256 state resumes (uploads in flight across a deploy). */
const fresh = (): IngestState => ({ offset: 0, hash: new Sha256().exportState(), multipart: null, parts: [] });
const jsDigest = (hash: UploadHash) => new Sha256(hash as Sha256State).digestHex();

describe.each(["bytes", "default"] as const)("ingest from a %s stream", (type) => {
  it("cuts parts of exactly PART_SIZE across uneven chunks, keeps the rest as the tail, and hashes every byte", async () => {
    const total = 2 * PART_SIZE + 12_345;
    const bytes = patterned(total, 7);
    const cuts = [1, 70_000, PART_SIZE - 3, PART_SIZE + 5, 2 * PART_SIZE];
    const { store, parts } = recordingStore();
    const created: string[] = [];
    const result = await ingest(fresh(), new Uint8Array(0), streamOf(bytes, cuts, type), {
      store,
      multipartKey: "uploads/x",
      onMultipartCreated: (m) => void created.push(m.uploadId),
    });
    expect(created).toEqual(["upload-1"]);
    expect(result.received).toBe(total);
    expect(result.state.offset).toBe(total);
    expect(result.state.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(await fingerprint(parts.get(1))).toBe(await fingerprint(bytes.subarray(0, PART_SIZE)));
    expect(await fingerprint(parts.get(2))).toBe(await fingerprint(bytes.subarray(PART_SIZE, 2 * PART_SIZE)));
    expect(await fingerprint(result.tail)).toBe(await fingerprint(bytes.subarray(2 * PART_SIZE)));
    expect(jsDigest(result.state.hash)).toBe((await fingerprint(bytes)).split(":")[1]);
  });

  it("continues from a tail, and a small body makes no part and no multipart upload", async () => {
    const tail = patterned(3_000_000, 1);
    const body = patterned(4_000, 2);
    const { store, parts } = recordingStore();
    const state: IngestState = { ...fresh(), offset: 3_000_000, hash: new Sha256().update(tail).exportState() };
    const result = await ingest(state, tail, streamOf(body, [10, 1_000], type), {
      store,
      multipartKey: "uploads/y",
      onMultipartCreated: () => {
        throw new Error("no multipart for a small upload");
      },
    });
    expect(parts.size).toBe(0);
    expect(result.state.offset).toBe(3_004_000);
    expect(await fingerprint(result.tail)).toBe(await fingerprint(new Uint8Array([...tail, ...body])));
    expect(jsDigest(result.state.hash)).toBe(new Sha256().update(tail).update(body).digestHex());
  });
});

describe("ingest's native hashing (crypto.DigestStream)", () => {
  const native = (): IngestState => ({ offset: 0, hash: freshHash(), multipart: null, parts: [] });

  it.each(["bytes", "default"] as const)(
    "hashes a %s body that starts the upload natively, over parts and tail, and saves digest and length",
    async (type) => {
      const total = PART_SIZE * 2 + 999;
      const bytes = patterned(total, 3);
      const { store, parts } = recordingStore();
      const result = await ingest(native(), new Uint8Array(0), streamOf(bytes, [5, PART_SIZE + 1], type), {
        store,
        multipartKey: "uploads/n",
        onMultipartCreated: () => undefined,
      });
      expect(result.state.hash).toEqual({ native: (await fingerprint(bytes)).split(":")[1], length: total });
      // The part buffers were hashed before being reused: the parts hold the right bytes.
      expect(await fingerprint(parts.get(2))).toBe(await fingerprint(bytes.subarray(PART_SIZE, 2 * PART_SIZE)));
    },
  );

  it("an empty first request keeps the digest of no bytes", async () => {
    const { store } = recordingStore();
    const result = await ingest(native(), new Uint8Array(0), null, {
      store,
      multipartKey: "uploads/e",
      onMultipartCreated: () => undefined,
    });
    expect(result.state.hash).toEqual(freshHash());
  });

  it("a later request with bytes defers the digest; one without keeps it", async () => {
    const first = patterned(1000, 1);
    const { store } = recordingStore();
    const options = { store, multipartKey: "uploads/d", onMultipartCreated: () => undefined };
    const opened = await ingest(native(), new Uint8Array(0), streamOf(first, [], "bytes"), options);
    const empty = await ingest(opened.state, opened.tail, null, options);
    expect(empty.state.hash).toEqual(opened.state.hash);
    const more = await ingest(opened.state, opened.tail, streamOf(patterned(10, 2), [], "bytes"), options);
    expect(more.state.hash).toEqual({ deferred: true });
    expect(more.state.offset).toBe(1010);
    expect(await fingerprint(more.tail)).toBe(await fingerprint(new Uint8Array([...first, ...patterned(10, 2)])));
    const after = await ingest(more.state, more.tail, streamOf(patterned(10, 3), [], "bytes"), options);
    expect(after.state.hash).toEqual({ deferred: true });
  });
});
