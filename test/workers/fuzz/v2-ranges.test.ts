/**
 * Fuzzing `Range` on blob GET and `Content-Range` (with `Content-Length`) on upload PATCH. A blob
 * GET answers 200, 206 with the bytes asked for, or 416 in the OCI envelope. An upload answers each
 * chunk with 202 or a 4xx; a refused chunk writes nothing, so the upload's offset afterwards is the
 * sum of the accepted chunks, and finishing it with the digest of exactly those bytes gives a blob.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { concatBytes, openUpload, pushBlob, randomBytes, registryToken, sha256, withDigest } from "../helpers/registry";
import { brokenInvariants } from "./consistency";
import { fuzzRequest, runs, timeFor } from "./fuzz";

const REPO = "fuzz/ranges";
const BLOB = randomBytes(1000);
let digest: string;
let token: string;

beforeAll(async () => {
  digest = await pushBlob(REPO, BLOB);
  token = await registryToken(
    [{ type: "repository", name: REPO, actions: ["pull", "push", "delete"] }],
    REPO.split("/")[0]!,
  );
});

const number = fc.oneof(
  fc.nat({ max: 1100 }).map(String),
  fc.constantFrom("-1", "01", "1e3", "0x10", "9007199254740993", "9".repeat(40), "", " ", "NaN", "1.5", "+3"),
);

/** Range values: well-formed single ranges, suffix and open ranges, lists, wrong units and garbage. */
const rangeLike = fc.oneof(
  fc.tuple(number, number).map(([a, b]) => `bytes=${a}-${b}`),
  number.map((n) => `bytes=-${n}`),
  number.map((n) => `bytes=${n}-`),
  fc
    .array(fc.tuple(number, number), { minLength: 2, maxLength: 4 })
    .map((l) => `bytes=${l.map((p) => p.join("-")).join(",")}`),
  fc
    .tuple(fc.constantFrom("items", "BYTES", "bytes ", " bytes", "bits"), number, number)
    .map(([u, a, b]) => `${u}=${a}-${b}`),
  fc.string({ maxLength: 40 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s)),
);

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

describe("fuzzing Range and Content-Range", () => {
  it(
    "a blob GET with any Range answers 200, 206 with those bytes, or 416 in the OCI envelope",
    async () => {
      await fc.assert(
        fc.asyncProperty(rangeLike, async (range) => {
          const res = await fuzzRequest("registry", "GET", `/v2/${REPO}/blobs/${digest}`, {
            token,
            headers: { Range: range },
          });
          if (res.status === 206) {
            const match = /^bytes (\d+)-(\d+)\/1000$/.exec(res.headers.get("Content-Range") ?? "");
            if (!match)
              throw new Error(`206 without a Content-Range for ${range}: ${res.headers.get("Content-Range")}`);
            const [start, end] = [Number(match[1]), Number(match[2])];
            const expected = BLOB.subarray(start, end + 1);
            if (start > end || end >= 1000 || !sameBytes(res.bytes, expected))
              throw new Error(`bad 206 for ${range}: ${start}-${end}, ${res.bytes.byteLength} bytes`);
          } else if (res.status === 200) {
            if (!sameBytes(res.bytes, BLOB)) throw new Error(`200 for ${range} without the whole blob`);
          } else if (![200, 416].includes(res.status)) {
            throw new Error(`Range ${JSON.stringify(range)} → ${res.status}`);
          }
        }),
        runs(500),
      );
    },
    timeFor(500),
  );

  const chunk = fc.record({
    size: fc.nat({ max: 64 }),
    // Where the chunk claims to start, relative to the real offset (0: continues the upload).
    shift: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -5, max: 5 })),
    // How the Content-Range is written: right, absent, or mangled.
    form: fc.constantFrom("right", "right", "absent", "inclusive-off", "garbage", "bytes-prefix", "huge"),
    // Content-Length: right, absent, or wrong.
    length: fc.constantFrom("right", "right", "absent", "plus-one", "minus-one", "garbage"),
  });

  it(
    "upload chunks with any Content-Range: a refused chunk writes nothing, and the blob is the accepted bytes",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(chunk, { minLength: 1, maxLength: 5 }), async (chunks) => {
          const location = await openUpload(REPO);
          const accepted: Uint8Array[] = [];
          let offset = 0;
          for (const { size, shift, form, length } of chunks) {
            const bytes = randomBytes(size);
            const start = Math.max(0, offset + shift);
            const end = start + size - 1;
            const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
            const range = {
              right: `${start}-${end}`,
              absent: undefined,
              "inclusive-off": `${start}-${end + 1}`,
              garbage: `${start}..${end}`,
              "bytes-prefix": `bytes ${start}-${end}/*`,
              huge: `${start}-${"9".repeat(30)}`,
            }[form];
            if (range !== undefined) headers["Content-Range"] = range;
            const declared = { right: size, absent: null, "plus-one": size + 1, "minus-one": size - 1, garbage: "x" }[
              length
            ];
            if (declared !== null) headers["Content-Length"] = String(declared);
            const res = await fuzzRequest("registry", "PATCH", location, { token, body: bytes, headers });
            if (res.status === 202) {
              accepted.push(bytes);
              offset += size;
            }
            const status = await fuzzRequest("registry", "GET", location, { token });
            const expectedRange = offset === 0 ? "0-0" : `0-${offset - 1}`;
            if (status.status !== 204 || status.headers.get("Range") !== expectedRange)
              throw new Error(
                `after ${JSON.stringify({ size, shift, form, length })}: ${status.status} Range ${status.headers.get("Range")}, expected ${expectedRange}`,
              );
          }
          const whole = concatBytes(...accepted);
          const done = await fuzzRequest("registry", "PUT", withDigest(location, await sha256(whole)), { token });
          if (done.status !== 201) throw new Error(`closing after ${accepted.length} accepted chunks: ${done.status}`);
        }),
        runs(150),
      );
    },
    timeFor(150, 400),
  );

  it("leaves D1 consistent", async () => {
    expect(await brokenInvariants()).toEqual([]);
  });
});
