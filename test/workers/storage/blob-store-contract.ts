/**
 * The BlobStore contract: what the registry relies on from whatever holds its bytes (R2 in
 * production, src/storage/memory-blob-store.ts in memory). Every implementation runs these same
 * cases (test/workers/storage/blob-store.test.ts). The R2 rules come from what workerd's R2
 * answers (multipart limits: R2's "Multipart upload limits").
 */
import { describe, expect, it } from "vitest";
import {
  DigestMismatchError,
  MAX_LIST_LIMIT,
  type BlobStore,
  type UploadedPart,
} from "../../../src/storage/blob-store";

const MiB = 1024 * 1024;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `size` random bytes (getRandomValues fills at most 64 KiB a call). */
function bytesOf(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}

/** Large byte arrays compare by digest: a deep equality of megabytes is slow and unreadable. */
async function sameBytes(actual: Uint8Array, expected: Uint8Array): Promise<void> {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(await sha256Hex(actual)).toBe(await sha256Hex(expected));
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

async function read(store: BlobStore, key: string, range?: { start: number; end: number }) {
  const object = await store.get(key, range);
  if (!object) return null;
  return { size: object.size, bytes: new Uint8Array(await new Response(object.body).arrayBuffer()) };
}

/** A stream of known length, as a request body is (R2 refuses others). */
function knownLengthStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(bytes.byteLength);
  void new Response(bytes).body!.pipeTo(writable);
  return readable as ReadableStream<Uint8Array>;
}

/** Runs the contract against the store `open` returns; keys live under a fresh prefix per case. */
export function blobStoreContract(label: string, open: () => BlobStore): void {
  const fresh = () => `contract-${crypto.randomUUID()}/`;

  async function put(store: BlobStore, key: string, bytes: Uint8Array): Promise<void> {
    await store.putVerified(key, bytes, await sha256Hex(bytes));
  }

  /** Uploads `parts` to a new multipart object at `key`; returns its id and the parts. */
  async function multipart(store: BlobStore, key: string, parts: Uint8Array[]) {
    const uploadId = await store.createMultipart(key);
    const uploaded: UploadedPart[] = [];
    for (const [i, part] of parts.entries()) uploaded.push(await store.uploadPart(key, uploadId, i + 1, part));
    return { uploadId, uploaded };
  }

  describe(`BlobStore contract: ${label}`, () => {
    it("stores verified bytes and reads them back with their size and write time", async () => {
      const store = open();
      const key = `${fresh()}a`;
      const bytes = text("the quick brown fox");
      const before = Date.now();
      await put(store, key, bytes);
      const after = Date.now();
      expect(await read(store, key)).toEqual({ size: bytes.byteLength, bytes });
      expect(await store.size(key)).toBe(bytes.byteLength);
      const writtenAt = (await store.writtenAt(key))!;
      // R2 stamps writes in whole milliseconds on its own clock: allow a second either way.
      expect(writtenAt).toBeGreaterThanOrEqual(before - 1000);
      expect(writtenAt).toBeLessThanOrEqual(after + 1000);
      expect(await store.stat(key)).toEqual({ size: bytes.byteLength, writtenAt });
    });

    it("answers null for a key that does not exist", async () => {
      const store = open();
      const key = `${fresh()}missing`;
      expect(await store.get(key)).toBeNull();
      expect(await store.get(key, { start: 0, end: 9 })).toBeNull();
      expect(await store.size(key)).toBeNull();
      expect(await store.writtenAt(key)).toBeNull();
      expect(await store.stat(key)).toBeNull();
    });

    it("refuses bytes whose SHA-256 is not the one given, and stores nothing", async () => {
      const store = open();
      const prefix = fresh();
      const bytes = text("content");
      const wrong = await sha256Hex(text("other content"));
      await expect(store.putVerified(`${prefix}bad`, bytes, wrong)).rejects.toBeInstanceOf(DigestMismatchError);
      await expect(store.putVerified(`${prefix}bad`, knownLengthStream(bytes), wrong)).rejects.toBeInstanceOf(
        DigestMismatchError,
      );
      expect(await store.size(`${prefix}bad`)).toBeNull();
      expect((await store.list(prefix)).objects).toEqual([]);
    });

    it("stores a stream of known length, an empty object, and a rewrite of the same key", async () => {
      const store = open();
      const prefix = fresh();
      const bytes = bytesOf(300_000);
      await store.putVerified(`${prefix}stream`, knownLengthStream(bytes), await sha256Hex(bytes));
      await sameBytes((await read(store, `${prefix}stream`))!.bytes, bytes);

      await put(store, `${prefix}empty`, new Uint8Array(0));
      expect(await read(store, `${prefix}empty`)).toEqual({ size: 0, bytes: new Uint8Array(0) });

      const first = (await store.writtenAt(`${prefix}stream`))!;
      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = text("again");
      await put(store, `${prefix}stream`, again);
      expect(await read(store, `${prefix}stream`)).toEqual({ size: again.byteLength, bytes: again });
      expect((await store.writtenAt(`${prefix}stream`))!).toBeGreaterThanOrEqual(first);
    });

    it("a sized put stores the bytes written to it; fewer bytes store nothing", async () => {
      const store = open();
      const prefix = fresh();
      const bytes = bytesOf(300_000);
      const whole = store.putSized(`${prefix}sized`, bytes.byteLength);
      await whole.writer.write(bytes.subarray(0, 1000));
      await whole.writer.write(bytes.subarray(1000));
      await whole.writer.close();
      await whole.stored;
      await sameBytes((await read(store, `${prefix}sized`))!.bytes, bytes);

      const short = store.putSized(`${prefix}short`, bytes.byteLength);
      short.stored.catch(() => undefined);
      await short.writer.write(bytes.subarray(0, 1000));
      await short.writer.close().catch(() => undefined);
      await expect(short.stored).rejects.toThrow();
      expect(await store.size(`${prefix}short`)).toBeNull();
    });

    it("reads an inclusive range, clipped to the object, with the whole object's size", async () => {
      const store = open();
      const key = `${fresh()}ranged`;
      const bytes = text("0123456789");
      await put(store, key, bytes);
      expect(await read(store, key, { start: 2, end: 5 })).toEqual({ size: 10, bytes: text("2345") });
      expect(await read(store, key, { start: 0, end: 0 })).toEqual({ size: 10, bytes: text("0") });
      expect(await read(store, key, { start: 7, end: 100 })).toEqual({ size: 10, bytes: text("789") });
      // A range that starts past the end is refused (the routes never ask for one: they answer 416).
      await expect(read(store, key, { start: 20, end: 25 })).rejects.toThrow();
    });

    it("assembles multipart parts in order; the object appears only once completed", async () => {
      const store = open();
      const prefix = fresh();
      const key = `${prefix}assembled`;
      // Past 16 MiB, so that R2BlobStore reads the long range below in several segments.
      const parts = [...Array.from({ length: 4 }, () => bytesOf(5 * MiB)), bytesOf(1234)];
      const { uploadId, uploaded } = await multipart(store, key, parts);
      expect(await store.get(key)).toBeNull();
      expect((await store.list(prefix)).objects).toEqual([]);
      const before = Date.now();
      await store.completeMultipart(key, uploadId, uploaded);
      const joined = new Uint8Array(20 * MiB + 1234);
      for (const [i, part] of parts.entries()) joined.set(part, i * 5 * MiB);
      const whole = await read(store, key);
      expect(whole!.size).toBe(joined.byteLength);
      await sameBytes(whole!.bytes, joined);
      // A multipart object counts as written when completed.
      expect((await store.writtenAt(key))!).toBeGreaterThanOrEqual(before - 1000);
      expect((await read(store, key, { start: 5 * MiB - 2, end: 5 * MiB + 1 }))!.bytes).toEqual(
        joined.slice(5 * MiB - 2, 5 * MiB + 2),
      );
      const long = await read(store, key, { start: 3, end: 20 * MiB + 1000 });
      expect(long!.size).toBe(joined.byteLength);
      await sameBytes(long!.bytes, joined.slice(3, 20 * MiB + 1001));
    });

    // What a pull asks for (src/registry/pull.ts, the Range header of src/routes/v2/blobs.ts), of
    // the same bytes stored as one object and as a multipart object, past one 16 MiB read segment
    // (blob-store.test.ts gives R2BlobStore that segment size).
    for (const layout of ["one object", "a multipart object"] as const) {
      it(`reads ${layout}: whole, first and last byte, across segment and part boundaries, suffixes`, async () => {
        const store = open();
        const key = `${fresh()}${layout.replace(/ /g, "-")}`;
        const parts = [...Array.from({ length: 4 }, () => bytesOf(5 * MiB)), bytesOf(4321)];
        const joined = new Uint8Array(20 * MiB + 4321);
        for (const [i, part] of parts.entries()) joined.set(part, i * 5 * MiB);
        if (layout === "one object") await put(store, key, joined);
        else {
          const { uploadId, uploaded } = await multipart(store, key, parts);
          await store.completeMultipart(key, uploadId, uploaded);
        }
        const size = joined.byteLength;
        const segment = 16 * MiB;
        const expectRange = async (start: number, end: number) => {
          const got = (await read(store, key, { start, end }))!;
          expect(got.size, `${start}-${end}`).toBe(size);
          await sameBytes(got.bytes, joined.slice(start, Math.min(end, size - 1) + 1));
        };
        const whole = (await read(store, key))!;
        expect(whole.size).toBe(size);
        await sameBytes(whole.bytes, joined);
        await expectRange(0, size - 1);
        await expectRange(0, 0);
        await expectRange(size - 1, size - 1);
        // The first read segment exactly, one byte past it, and a range straddling its end.
        await expectRange(0, segment - 1);
        await expectRange(0, segment);
        await expectRange(segment - 3, segment + 2);
        await expectRange(segment, size - 1);
        // Across a 5 MiB part boundary, and a long range from an odd offset.
        await expectRange(5 * MiB - 2, 5 * MiB + 1);
        await expectRange(3, size - 2);
        // Suffixes (bytes=-N resolves to the last N bytes): short, longer than a segment, the
        // whole object; and a range whose end lies past the object (clipped).
        await expectRange(size - 100, size - 1);
        await expectRange(size - (segment + 10), size - 1);
        await expectRange(size - 7, size + 1000);
      });
    }

    it("replaces a part uploaded again under its number, and completes a single small part", async () => {
      const store = open();
      const key = `${fresh()}replaced`;
      const uploadId = await store.createMultipart(key);
      await store.uploadPart(key, uploadId, 1, text("first"));
      const second = await store.uploadPart(key, uploadId, 1, text("second"));
      await store.completeMultipart(key, uploadId, [second]);
      expect(await read(store, key)).toEqual({ size: 6, bytes: text("second") });
    });

    it("refuses parts but the last under 5 MiB, of unequal size, or a last part larger than the others", async () => {
      const store = open();
      const prefix = fresh();
      const refused: [string, Uint8Array[]][] = [
        ["small", [bytesOf(MiB), bytesOf(MiB)]],
        ["just-under", [bytesOf(5 * MiB - 1), bytesOf(1)]],
        ["unequal", [bytesOf(5 * MiB), bytesOf(6 * MiB), bytesOf(1)]],
        ["last-larger", [bytesOf(5 * MiB), bytesOf(5 * MiB + 1)]],
      ];
      for (const [name, parts] of refused) {
        const { uploadId, uploaded } = await multipart(store, `${prefix}${name}`, parts);
        await expect(store.completeMultipart(`${prefix}${name}`, uploadId, uploaded), name).rejects.toThrow();
        expect(await store.size(`${prefix}${name}`), name).toBeNull();
        await store.abortMultipart(`${prefix}${name}`, uploadId);
      }
      const { uploadId, uploaded } = await multipart(store, `${prefix}smaller-last`, [
        bytesOf(6 * MiB),
        bytesOf(5 * MiB),
      ]);
      await store.completeMultipart(`${prefix}smaller-last`, uploadId, uploaded);
      expect(await store.size(`${prefix}smaller-last`)).toBe(11 * MiB);
    });

    it("refuses unknown uploads and parts, part numbers outside 1-10,000, and completing twice", async () => {
      const store = open();
      const prefix = fresh();
      const key = `${prefix}x`;
      const { uploadId, uploaded } = await multipart(store, key, [text("x")]);
      await expect(store.uploadPart(key, uploadId, 0, text("y"))).rejects.toThrow();
      await expect(store.uploadPart(key, uploadId, 10_001, text("y"))).rejects.toThrow();
      await expect(store.uploadPart(`${prefix}other`, uploadId, 1, text("y"))).rejects.toThrow();
      await expect(
        store.completeMultipart(key, uploadId, [...uploaded, { partNumber: 2, etag: "none" }]),
      ).rejects.toThrow();
      await store.completeMultipart(key, uploadId, uploaded);
      await expect(store.completeMultipart(key, uploadId, uploaded)).rejects.toThrow();
      expect(await read(store, key)).toEqual({ size: 1, bytes: text("x") });
      // Aborting what was completed discards nothing.
      await store.abortMultipart(key, uploadId);
      expect(await store.size(key)).toBe(1);
    });

    it("aborts: nothing is stored, completing is refused, and aborting again or an unknown upload is no error", async () => {
      const store = open();
      const key = `${fresh()}aborted`;
      const { uploadId, uploaded } = await multipart(store, key, [text("bytes")]);
      await store.abortMultipart(key, uploadId);
      await expect(store.completeMultipart(key, uploadId, uploaded)).rejects.toThrow();
      expect(await store.get(key)).toBeNull();
      await store.abortMultipart(key, uploadId);
      await store.abortMultipart(key, "no-such-upload");
    });

    it("lists by prefix in key order, a page at a time, with sizes and write times", async () => {
      const store = open();
      const prefix = fresh();
      const names = ["b", "a", "c/d", "é", "Z", "a0"];
      for (const name of names) await put(store, `${prefix}${name}`, text(name));
      await put(store, `${prefix.slice(0, -1)}-outside`, text("not under the prefix"));
      const order = ["Z", "a", "a0", "b", "c/d", "é"].map((name) => `${prefix}${name}`);

      const all = await store.list(prefix);
      expect(all.objects.map((o) => o.key)).toEqual(order);
      expect(all.cursor).toBeUndefined();
      expect(all.objects.find((o) => o.key === `${prefix}c/d`)!.size).toBe(3);
      for (const object of all.objects) expect(object.writtenAt).toBe(await store.writtenAt(object.key));

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(prefix, { cursor, limit: 4 });
        seen.push(...page.objects.map((o) => o.key));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(order);
      expect(pages).toBe(2);

      // A page that holds exactly what is left has no cursor.
      const exact = await store.list(prefix, { limit: names.length });
      expect(exact.objects).toHaveLength(names.length);
      expect(exact.cursor).toBeUndefined();
      expect((await store.list(`${prefix}a`)).objects.map((o) => o.key)).toEqual([`${prefix}a`, `${prefix}a0`]);
      expect((await store.list(`${prefix}nothing`)).objects).toEqual([]);
    });

    it(`refuses a list limit outside 1-${MAX_LIST_LIMIT}`, async () => {
      const store = open();
      await expect(store.list(fresh(), { limit: 0 })).rejects.toThrow();
      await expect(store.list(fresh(), { limit: MAX_LIST_LIMIT + 1 })).rejects.toThrow();
    });

    it("deletes what exists; missing keys and an empty list are no error", async () => {
      const store = open();
      const prefix = fresh();
      await put(store, `${prefix}one`, text("1"));
      await put(store, `${prefix}two`, text("2"));
      await store.delete([`${prefix}one`, `${prefix}never`]);
      await store.delete([]);
      expect(await store.get(`${prefix}one`)).toBeNull();
      expect((await store.list(prefix)).objects.map((o) => o.key)).toEqual([`${prefix}two`]);
    });
  });
}
