/**
 * MAX_REQUEST_BODY and the chunk-size hints (src/registry/body-limits.ts): an upload body over the
 * limit is refused with 413 SIZE_INVALID naming it, whether declared up front or counted as it
 * streams, and the upload stays exactly as it was, so the client can go on with smaller chunks.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { readConfig } from "../../../src/config";
import { parseByteSize } from "../../../src/lib/byte-sizes";
import { DEFAULT_CHUNK_MAX_LENGTH, SMALLEST_PLAN_BODY_CAP } from "../../../src/registry/body-limits";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import {
  BASE,
  concatBytes,
  expectBlobContent,
  randomBytes,
  registryToken,
  request,
  sha256,
  uniqueName,
  withDigest,
} from "../helpers/registry";

const MiB = 1024 * 1024;

/** A request through the whole Worker with MAX_REQUEST_BODY set to `limit`. */
async function limited(
  limit: string,
  method: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const name = path.split("/blobs/")[0]!.slice("/v2/".length);
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], name.split("/")[0]);
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  const limitedEnv = { ...env, MAX_REQUEST_BODY: limit } as unknown as Env;
  return worker.fetch(
    new Request(`${BASE}${path}`, { method, headers, body: init.body ?? null }),
    limitedEnv,
    createExecutionContext(),
  );
}

/** A body of unknown length (no Content-Length): `data` in pieces of at most 256 KiB. */
function streamed(data: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(at, at + 256 * 1024));
      at += 256 * 1024;
    },
  });
}

function sized(data: Uint8Array, start?: number): Record<string, string> {
  const headers: Record<string, string> = { "Content-Length": String(data.byteLength) };
  if (start !== undefined) headers["Content-Range"] = `${start}-${start + data.byteLength - 1}`;
  return headers;
}

async function expectRefusal(res: Response, limit: number): Promise<void> {
  expect(res.status).toBe(413);
  const body = (await res.json()) as { errors: { code: string; message: string; detail: unknown }[] };
  expect(body.errors[0]!.code).toBe("SIZE_INVALID");
  expect(body.errors[0]!.message).toBe(
    `request body exceeds MAX_REQUEST_BODY (${limit} bytes): send the layer in chunks of at most ${limit} bytes (see OCI-Chunk-Max-Length)`,
  );
  expect(body.errors[0]!.detail).toEqual({ limit });
  expect(res.headers.get("OCI-Chunk-Max-Length")).toBe(String(limit));
}

async function rangeOf(limit: string, location: string): Promise<string | null> {
  const res = await limited(limit, "GET", location);
  expect(res.status).toBe(204);
  return res.headers.get("Range");
}

async function open(limit: string, name: string): Promise<string> {
  const res = await limited(limit, "POST", `/v2/${name}/blobs/uploads/`);
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

describe("MAX_REQUEST_BODY", () => {
  it("reads bytes, decimal and binary units; refuses anything else by name", () => {
    expect(parseByteSize("104857600")).toBe(104_857_600);
    expect(parseByteSize("100MB")).toBe(100_000_000);
    expect(parseByteSize("100 MiB")).toBe(104_857_600);
    expect(parseByteSize("1.5gib")).toBe(1_610_612_736);
    expect(parseByteSize("0")).toBe(0);
    for (const bad of ["", "-1", "lots", "10 parsecs", "1e9"]) expect(parseByteSize(bad), bad).toBeNull();
    expect(readConfig({ MAX_REQUEST_BODY: "95MiB" }).MAX_REQUEST_BODY).toBe(95 * MiB);
    expect(readConfig({}).MAX_REQUEST_BODY).toBe(0);
    expect(() => readConfig({ MAX_REQUEST_BODY: "lots" })).toThrow(
      /MAX_REQUEST_BODY: must be a size in bytes \(1048576, 100MB or 100MiB\): "lots"/,
    );
  });

  it("without it, uploads advertise the 88 MiB hint under the smallest plan's cap", async () => {
    const name = uniqueName("lim");
    const res = await request("POST", `/v2/${name}/blobs/uploads/`);
    expect(res.status).toBe(202);
    expect(res.headers.get("OCI-Chunk-Max-Length")).toBe(String(DEFAULT_CHUNK_MAX_LENGTH));
    expect(DEFAULT_CHUNK_MAX_LENGTH).toBeLessThan(SMALLEST_PLAN_BODY_CAP);
    expect(DEFAULT_CHUNK_MAX_LENGTH % PART_SIZE).toBe(0);
    expect(res.headers.get("OCI-Chunk-Min-Length")).toBe(String(PART_SIZE));
    // And a big body is taken: no cap of Wharf's own.
    const location = res.headers.get("Location")!;
    const chunk = randomBytes(2 * MiB);
    const patched = await request("PATCH", location, { body: chunk, headers: sized(chunk, 0) });
    expect(patched.status).toBe(202);
    expect(patched.headers.get("OCI-Chunk-Max-Length")).toBe(String(DEFAULT_CHUNK_MAX_LENGTH));
  });

  it("is advertised on POST and PATCH 202, the minimum never above it", async () => {
    const name = uniqueName("lim");
    const res = await limited("1MiB", "POST", `/v2/${name}/blobs/uploads/`);
    expect(res.headers.get("OCI-Chunk-Max-Length")).toBe(String(MiB));
    expect(res.headers.get("OCI-Chunk-Min-Length")).toBe(String(MiB));
    const chunk = randomBytes(1000);
    const patched = await limited("1MiB", "PATCH", res.headers.get("Location")!, {
      body: chunk,
      headers: sized(chunk, 0),
    });
    expect(patched.status).toBe(202);
    expect(patched.headers.get("OCI-Chunk-Max-Length")).toBe(String(MiB));
    const big = await limited("20MiB", "POST", `/v2/${name}/blobs/uploads/`);
    expect(big.headers.get("OCI-Chunk-Max-Length")).toBe(String(20 * MiB));
    expect(big.headers.get("OCI-Chunk-Min-Length")).toBe(String(PART_SIZE));
  });

  it("refuses a PATCH declared larger, unread; the upload goes on with smaller chunks", async () => {
    const name = uniqueName("lim");
    const location = await open("1MiB", name);
    const first = randomBytes(700 * 1024);
    expect((await limited("1MiB", "PATCH", location, { body: first, headers: sized(first, 0) })).status).toBe(202);
    const oversize = randomBytes(MiB + 1);
    await expectRefusal(
      await limited("1MiB", "PATCH", location, { body: oversize, headers: sized(oversize, first.byteLength) }),
      MiB,
    );
    expect(await rangeOf("1MiB", location)).toBe(`0-${first.byteLength - 1}`);
    // The same bytes again, as two chunks within the limit, then the PUT: the digest verifies.
    const a = oversize.subarray(0, MiB);
    const b = oversize.subarray(MiB);
    expect((await limited("1MiB", "PATCH", location, { body: a, headers: sized(a, first.byteLength) })).status).toBe(
      202,
    );
    const data = concatBytes(first, oversize);
    const digest = await sha256(data);
    const put = await limited("1MiB", "PUT", withDigest(location, digest), { body: b, headers: sized(b) });
    expect(put.status).toBe(201);
    await expectBlobContent(name, digest, data);
  });

  it("counts a body of unknown length as it streams: refused past the limit, nothing of it kept", async () => {
    // 10 MiB limit, 3 MiB already held (a tail): the refused stream fills and uploads part 1
    // (8 MiB) before it crosses the limit, yet the upload still holds exactly its 3 MiB.
    const limit = "10MiB";
    const name = uniqueName("lim");
    const location = await open(limit, name);
    const data = randomBytes(15 * MiB);
    const head = data.subarray(0, 3 * MiB);
    expect((await limited(limit, "PATCH", location, { body: head, headers: sized(head, 0) })).status).toBe(202);
    const refused = await limited(limit, "PATCH", location, { body: streamed(data.subarray(3 * MiB)) });
    await expectRefusal(refused, 10 * MiB);
    expect(await rangeOf(limit, location)).toBe(`0-${3 * MiB - 1}`);
    // Going on: a streamed chunk within the limit, then the last bytes with the PUT.
    const middle = data.subarray(3 * MiB, 13 * MiB);
    const patched = await limited(limit, "PATCH", location, { body: streamed(middle) });
    expect(patched.status).toBe(202);
    expect(patched.headers.get("Range")).toBe(`0-${13 * MiB - 1}`);
    const digest = await sha256(data);
    const last = data.subarray(13 * MiB);
    const streamedPut = await limited(limit, "PUT", withDigest(location, digest), { body: streamed(last) });
    expect(streamedPut.status).toBe(201);
    await expectBlobContent(name, digest, data);
  });

  it("refuses an oversize closing PUT and keeps the upload open for a smaller one", async () => {
    const name = uniqueName("lim");
    const location = await open("1MiB", name);
    const data = randomBytes(MiB + 10);
    const digest = await sha256(data);
    await expectRefusal(
      await limited("1MiB", "PUT", withDigest(location, digest), { body: data, headers: sized(data) }),
      MiB,
    );
    await expectRefusal(await limited("1MiB", "PUT", withDigest(location, digest), { body: streamed(data) }), MiB);
    expect(await rangeOf("1MiB", location)).toBe("0-0");
    const a = data.subarray(0, MiB);
    expect((await limited("1MiB", "PATCH", location, { body: a, headers: sized(a, 0) })).status).toBe(202);
    const b = data.subarray(MiB);
    expect((await limited("1MiB", "PUT", withDigest(location, digest), { body: b, headers: sized(b) })).status).toBe(
      201,
    );
    await expectBlobContent(name, digest, data);
  });

  it("refuses an oversize monolithic POST ?digest=, declared or streamed, and stores nothing", async () => {
    const name = uniqueName("lim");
    const data = randomBytes(MiB + 1);
    const digest = await sha256(data);
    const path = `/v2/${name}/blobs/uploads/?digest=${digest}`;
    await expectRefusal(await limited("1MiB", "POST", path, { body: data, headers: sized(data) }), MiB);
    await expectRefusal(await limited("1MiB", "POST", path, { body: streamed(data) }), MiB);
    expect((await limited("1MiB", "HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  });
});
