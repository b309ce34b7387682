import { describe, expect, it } from "vitest";
import { Sha256, type Sha256State } from "../../src/lib/sha256";

// WebCrypto is the oracle; it hashes a copy so views with a byteOffset are handled independently.
async function oracle(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function oneShot(bytes: Uint8Array): string {
  return new Sha256().update(bytes).digestHex();
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Deterministic PRNG (mulberry32) so failures are reproducible; workerd also caps getRandomValues at 64 KiB.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Splits data into consecutive slices of random sizes in [0, maxSlice], including empty slices. */
function randomSlices(data: Uint8Array, maxSlice: number, rand: () => number): Uint8Array[] {
  const slices: Uint8Array[] = [];
  for (let p = 0; p < data.length; ) {
    const n = Math.min(Math.floor(rand() * (maxSlice + 1)), data.length - p);
    slices.push(data.subarray(p, p + n));
    p += n;
  }
  return slices;
}

const FIPS_IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

describe("Sha256 known-answer vectors", () => {
  it("hashes the empty input to e3b0c442…", async () => {
    const expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    expect(new Sha256().digestHex()).toBe(expected);
    expect(oneShot(new Uint8Array(0))).toBe(expected);
    expect(await oracle(new Uint8Array(0))).toBe(expected);
  });

  it("hashes the one-block FIPS 180-4 message 'abc'", () => {
    expect(oneShot(ascii("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hashes the 448-bit FIPS 180-4 message, whose padding needs a second block", () => {
    const msg = ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    expect(msg.length).toBe(56);
    expect(oneShot(msg)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("hashes the 896-bit FIPS 180-4 message", () => {
    const msg = ascii(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    );
    expect(msg.length).toBe(112);
    expect(oneShot(msg)).toBe("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  });

  it("hashes one million 'a' bytes, whether fed at once or in uneven pieces", async () => {
    const expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    const msg = new Uint8Array(1_000_000).fill(0x61);
    expect(oneShot(msg)).toBe(expected);
    const h = new Sha256();
    for (let p = 0; p < msg.length; p += 997) h.update(msg.subarray(p, p + 997));
    expect(h.length).toBe(1_000_000);
    expect(h.digestHex()).toBe(expected);
    expect(await oracle(msg)).toBe(expected);
  });
});

describe("Sha256 agrees with WebCrypto", () => {
  it("for every length from 0 to 200 bytes and lengths around block boundaries", async () => {
    const rand = rng(1);
    const lengths = [...Array.from({ length: 201 }, (_, i) => i), 247, 255, 256, 257, 1000, 4095, 4096, 4097, 65_543];
    for (const n of lengths) {
      const data = randomBytes(n, rand);
      expect(oneShot(data), `length ${n}`).toBe(await oracle(data));
    }
  });

  it("for the padding edge cases of 55, 56, 63, 64 and 65 bytes of 0xff", async () => {
    // 55 bytes leaves exactly room for 0x80 + length; 56..63 force a second padding block.
    for (const n of [55, 56, 63, 64, 65, 119, 120, 127, 128]) {
      const data = new Uint8Array(n).fill(0xff);
      expect(oneShot(data), `length ${n}`).toBe(await oracle(data));
    }
  });

  it("however the input is sliced, including empty and single-byte slices", async () => {
    const rand = rng(2);
    const data = randomBytes(100_003, rand);
    const expected = await oracle(data);
    for (const maxSlice of [1, 3, 63, 64, 65, 200, 4096, 70_000]) {
      const h = new Sha256();
      for (const s of randomSlices(data, maxSlice, rand)) h.update(s);
      expect(h.digestHex(), `maxSlice ${maxSlice}`).toBe(expected);
    }
    const small = data.subarray(0, 3000);
    const h = new Sha256();
    for (let i = 0; i < small.length; i++) h.update(small.subarray(i, i + 1)).update(new Uint8Array(0));
    expect(h.digestHex()).toBe(await oracle(small));
  });

  it("for Uint8Array views with a non-zero byteOffset into a larger buffer", async () => {
    const rand = rng(3);
    const backing = randomBytes(5000, rand);
    for (const [offset, length] of [
      [1, 0],
      [13, 300],
      [7, 64],
      [63, 129],
      [1001, 3333],
      [4999, 1],
    ] as const) {
      const view = new Uint8Array(backing.buffer, offset, length);
      expect(view.byteOffset).toBe(offset);
      expect(oneShot(view), `offset ${offset} length ${length}`).toBe(await oracle(view));
      // Misaligned sub-views fed in pieces, crossing block boundaries inside the view.
      const h = new Sha256();
      for (const s of randomSlices(view, 70, rand)) h.update(s);
      expect(h.digestHex()).toBe(await oracle(view));
    }
  });

  it("does not depend on the caller's buffer after update returns", async () => {
    const data = randomBytes(70, rng(4)); // 6 bytes stay buffered after the first block
    const original = data.slice();
    const h = new Sha256().update(data);
    data.fill(0);
    expect(h.digestHex()).toBe(await oracle(original));
  });
});

describe("Sha256 state export and resumption", () => {
  it("starts from the FIPS 180-4 initial hash value with an empty tail", () => {
    expect(new Sha256().exportState()).toEqual({ h: FIPS_IV, tail: "", length: 0 });
  });

  it("exports the working words as uint32s, the unprocessed bytes as hex and the total length", () => {
    const data = randomBytes(150, rng(5));
    const state = new Sha256().update(data).exportState();
    expect(state.length).toBe(150);
    expect(state.tail).toBe(toHex(data.subarray(128)));
    expect(state.h).toHaveLength(8);
    for (const w of state.h) expect(Number.isInteger(w) && w >= 0 && w <= 0xffffffff).toBe(true);
    expect(state.h.some((w) => w > 0x7fffffff)).toBe(true); // guards against leaking signed int32s
  });

  it("gives the one-shot digest when resumed from a JSON round-tripped state at any boundary", async () => {
    const rand = rng(6);
    const data = randomBytes(1000, rand);
    const expected = await oracle(data);
    const cuts = [0, 1, 2, 31, 55, 56, 63, 64, 65, 119, 127, 128, 129, 191, 192, 500, 999, 1000];
    for (let i = 0; i < 20; i++) cuts.push(Math.floor(rand() * 1001));
    for (const cut of cuts) {
      const first = new Sha256().update(data.subarray(0, cut));
      const json = JSON.stringify(first.exportState());
      const resumed = new Sha256(JSON.parse(json) as Sha256State);
      expect(resumed.length).toBe(cut);
      expect(resumed.exportState()).toEqual(first.exportState());
      expect(resumed.update(data.subarray(cut)).digestHex(), `cut at ${cut}`).toBe(expected);
    }
  });

  it("survives an export/import between every piece, like a chunked upload across requests", async () => {
    const rand = rng(7);
    const data = randomBytes(50_001, rand);
    let state = new Sha256().exportState();
    for (const piece of randomSlices(data, 777, rand)) {
      state = JSON.parse(JSON.stringify(new Sha256(state).update(piece).exportState())) as Sha256State;
    }
    expect(state.length).toBe(data.length);
    expect(new Sha256(state).digestHex()).toBe(await oracle(data));
  });

  it("does not alias the state object it was constructed from", () => {
    const state = new Sha256().update(randomBytes(10, rng(8))).exportState();
    const h = new Sha256(state);
    const before = h.digestHex();
    state.h[0] = 0;
    state.tail = "";
    expect(h.digestHex()).toBe(before);
  });

  it("digestHex leaves the state unchanged, so a prefix digest can be taken mid-stream", async () => {
    const data = randomBytes(300, rng(9));
    const h = new Sha256().update(data.subarray(0, 100));
    const before = h.exportState();
    const prefixDigest = h.digestHex();
    expect(prefixDigest).toBe(await oracle(data.subarray(0, 100)));
    expect(h.digestHex()).toBe(prefixDigest);
    expect(h.exportState()).toEqual(before);
    expect(h.length).toBe(100);
    h.update(data.subarray(100));
    expect(h.digestHex()).toBe(await oracle(data));
  });

  it("rejects malformed states instead of producing a wrong digest", () => {
    const good = new Sha256().update(new Uint8Array(3)).exportState();
    const bad: unknown[] = [
      { ...good, h: good.h.slice(1) },
      { ...good, h: [...good.h.slice(1), -1] },
      { ...good, h: [...good.h.slice(1), 2 ** 32] },
      { ...good, h: [...good.h.slice(1), 1.5] },
      { ...good, tail: "00000" },
      { ...good, tail: "zz0000" },
      { ...good, tail: "0000" }, // 2 bytes buffered but length % 64 is 3
      { ...good, length: -3 },
      { ...good, length: 3.5 },
      { ...good, length: 2 ** 53 + 3 },
      { h: good.h, tail: "00".repeat(64), length: 64 },
    ];
    for (const state of bad) expect(() => new Sha256(state as Sha256State), JSON.stringify(state)).toThrow(TypeError);
  });
});

describe("Sha256 64-bit message length", () => {
  // Reference final padding (FIPS 180-4 §5.1.1): tail || 0x80 || zeros || 64-bit big-endian bit length,
  // with the bit length computed in BigInt so it is independent of the implementation's float/int32 maths.
  function referencePadding(tail: Uint8Array, totalBytes: number): Uint8Array {
    const size = tail.length < 56 ? 64 : 128;
    const out = new Uint8Array(size);
    out.set(tail);
    out[tail.length] = 0x80;
    new DataView(out.buffer).setBigUint64(size - 8, BigInt(totalBytes) * 8n);
    return out;
  }

  // Compresses the reference padding blocks with update() (block processing is covered by the vectors above)
  // starting from the given working words, and renders the resulting words as the digest.
  function digestViaReferencePadding(h: number[], tail: Uint8Array, totalBytes: number): string {
    const words = new Sha256({ h, tail: "", length: 0 }).update(referencePadding(tail, totalBytes)).exportState().h;
    return words.map((w) => w.toString(16).padStart(8, "0")).join("");
  }

  it("the reference padding reproduces WebCrypto digests for short messages", async () => {
    const rand = rng(10);
    for (const n of [0, 1, 55, 56, 63]) {
      const msg = randomBytes(n, rand);
      expect(digestViaReferencePadding(FIPS_IV, msg, n), `length ${n}`).toBe(await oracle(msg));
    }
  });

  it("encodes lengths of 4 GiB and beyond (up to 2^53 - 1 bytes) as a full 64-bit bit count", () => {
    const rand = rng(11);
    const h = Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32)); // arbitrary mid-stream words
    const lengths = [
      2 ** 32 - 1, // bit count needs 35 bits
      2 ** 32,
      2 ** 32 + 5,
      2 ** 38 + 55, // last tail length that fits one padding block
      2 ** 35 - 8, // tail of 56: padding spills into a second block
      100 * 2 ** 30 + 63, // a 100 GiB blob
      2 ** 50 + 17, // bit count needs 53 bits
      2 ** 53 - 64,
      Number.MAX_SAFE_INTEGER, // 2^53 - 1: bit count 2^56 - 8, exact in a double
    ];
    for (const length of lengths) {
      const tail = randomBytes(length % 64, rand);
      const state: Sha256State = { h, tail: toHex(tail), length };
      expect(new Sha256(state).digestHex(), `length ${length}`).toBe(digestViaReferencePadding(h, tail, length));
    }
  });

  it("distinguishes lengths that differ only above bit 32 of the byte count", () => {
    const tail = toHex(new Uint8Array(5).fill(7));
    const a = new Sha256({ h: FIPS_IV, tail, length: 5 }).digestHex();
    const b = new Sha256({ h: FIPS_IV, tail, length: 2 ** 32 + 5 }).digestHex();
    const c = new Sha256({ h: FIPS_IV, tail, length: 2 ** 40 + 5 }).digestHex();
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it("keeps counting bytes exactly past 2^32 and 2^53 / 2", () => {
    for (const start of [2 ** 32 - 3, 2 ** 40 + 3, 2 ** 52 + 1]) {
      const h = new Sha256({ h: FIPS_IV, tail: "ab".repeat(start % 64), length: start });
      h.update(new Uint8Array(70)).update(new Uint8Array(1));
      expect(h.length).toBe(start + 71);
      const state = h.exportState();
      expect(state.length).toBe(start + 71);
      expect(state.tail.length).toBe(2 * ((start + 71) % 64));
    }
  });

  it("refuses input that would take the length past Number.MAX_SAFE_INTEGER", () => {
    const h = new Sha256({ h: FIPS_IV, tail: "00".repeat(62), length: Number.MAX_SAFE_INTEGER - 1 });
    expect(() => h.update(new Uint8Array(2))).toThrow(RangeError);
    expect(h.length).toBe(Number.MAX_SAFE_INTEGER - 1);
    h.update(new Uint8Array(1));
    expect(h.length).toBe(Number.MAX_SAFE_INTEGER);
  });
});
