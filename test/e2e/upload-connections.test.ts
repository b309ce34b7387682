/**
 * Issue #12 item 8 (chunked uploads dropped connections) and item 7 (a body shorter than its
 * Content-Length), against `npm start` over raw sockets.
 *
 * Registry clients write a chunk's body while the answer may already be on its way; a client that
 * hits a write error (EPIPE, ECONNRESET) reports it and never reads the answer. The conformance
 * suite's client sends every request first without a token and retries after the 401, so each
 * 8 MiB PATCH, valid or not, first meets an early answer. Every answer here, refusals included,
 * must reach the client with no write error, and valid chunks must advance the upload.
 */
import { randomBytes, randomUUID, createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendBody, sendShort, type Exchange } from "./helpers/raw-http";
import { startWharf, type RunningServer } from "./helpers/server";

const MiB = 1024 * 1024;
const CHUNK = 8 * MiB;
const run = randomBytes(3).toString("hex");
let wharf: RunningServer;
let basic: string;

beforeAll(async () => {
  wharf = await startWharf();
  const { username, password } = await wharf.credentialsFor("conn");
  basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
});
afterAll(async () => {
  await wharf?.stop();
});

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function openUpload(repo: string): Promise<string> {
  const res = await wharf.login.fetch(`${wharf.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(res.status).toBe(202);
  return new URL(res.headers.get("location")!, wharf.url).toString();
}

async function uploadRange(location: string): Promise<string | null> {
  const res = await wharf.login.fetch(location);
  expect(res.status).toBe(204);
  return res.headers.get("range");
}

/** The exchange as the test expects it: answered with `status`, nothing broken on the way. */
function expectAnswered(label: string, exchange: Exchange, status: number): void {
  const { writeError, responseError } = exchange;
  expect({ status: exchange.status, writeError, responseError }, label).toEqual({
    status,
    writeError: null,
    responseError: null,
  });
}

/** One client's chunked upload of two 8 MiB chunks, with refused chunks in between. */
async function uploadWithRefusals(worker: number): Promise<void> {
  const repo = `conn/chunks-${run}-${worker}`;
  const blob = randomBytes(2 * CHUNK);
  const [first, second] = [blob.subarray(0, CHUNK), blob.subarray(CHUNK)];
  const location = await openUpload(repo);
  const bearer = await wharf.login.authorization(location);
  const agent = new http.Agent({ keepAlive: true });
  const octets = { "Content-Type": "application/octet-stream" };
  const range = (start: number) => ({ "Content-Range": `${start}-${start + CHUNK - 1}` });
  try {
    // As the conformance suite's client: first without a token (401), then with one.
    expectAnswered(
      "first chunk, Basic only",
      await sendBody(location, "PATCH", { ...octets, ...range(0), Authorization: basic }, first, agent),
      401,
    );
    const valid = await sendBody(location, "PATCH", { ...octets, ...range(0), Authorization: bearer }, first, agent);
    expectAnswered("first chunk", valid, 202);
    expect(valid.headers.range).toBe(`0-${CHUNK - 1}`);

    const gap = await sendBody(
      location,
      "PATCH",
      { ...octets, ...range(2 * CHUNK), Authorization: bearer },
      second,
      agent,
    );
    expectAnswered("out-of-order chunk", gap, 416);
    expect(gap.headers.range).toBe(`0-${CHUNK - 1}`);
    expect(JSON.parse(gap.body).errors[0].code).toBe("BLOB_UPLOAD_INVALID");

    const badToken = await sendBody(
      location,
      "PATCH",
      { ...octets, ...range(CHUNK), Authorization: "Bearer not.a.token" },
      second,
      agent,
    );
    expectAnswered("bad token", badToken, 401);
    expect(badToken.headers["www-authenticate"]).toContain('error="invalid_token"');

    const unknown = location.replace(/[0-9a-f-]{36}$/, randomUUID());
    const lost = await sendBody(unknown, "PATCH", { ...octets, ...range(CHUNK), Authorization: bearer }, second, agent);
    expectAnswered("unknown upload", lost, 404);
    expect(JSON.parse(lost.body).errors[0].code).toBe("BLOB_UPLOAD_UNKNOWN");

    expect(await uploadRange(location)).toBe(`0-${CHUNK - 1}`);
    const next = await sendBody(
      location,
      "PATCH",
      { ...octets, ...range(CHUNK), Authorization: bearer },
      second,
      agent,
    );
    expectAnswered("second chunk", next, 202);
    expect(next.headers.range).toBe(`0-${2 * CHUNK - 1}`);
  } finally {
    agent.destroy();
  }
  const closed = await wharf.login.fetch(`${location}?digest=${sha256(blob)}`, { method: "PUT" });
  expect(closed.status, await closed.text()).toBe(201);
  const head = await wharf.login.fetch(`${wharf.url}/v2/${repo}/blobs/${sha256(blob)}`, { method: "HEAD" });
  expect(head.headers.get("content-length")).toBe(String(2 * CHUNK));
}

describe("8 MiB PATCH chunks from a client that reports write errors", () => {
  it("answer every chunk, refused or accepted, readably, under three parallel uploads", async () => {
    await Promise.all([0, 1, 2].map(uploadWithRefusals));
  });
});

describe("a request whose body ends before its Content-Length", () => {
  const errorCode = (body: string) => (JSON.parse(body) as { errors: { code: string }[] }).errors[0]!.code;

  it("answers 400 SIZE_INVALID to a client still listening, changes nothing, and logs no unhandled error", async () => {
    const repo = `conn/short-${run}`;
    const location = await openUpload(repo);
    const bearer = await wharf.login.authorization(location);
    const start = randomBytes(MiB);
    expectAnswered(
      "first chunk",
      await sendBody(location, "PATCH", { Authorization: bearer, "Content-Range": `0-${MiB - 1}` }, start),
      202,
    );

    const short = randomBytes(3 * MiB);
    const patchHeaders = { Authorization: bearer, "Content-Range": `${MiB}-${11 * MiB - 1}` };
    const patched = await sendShort(location, "PATCH", patchHeaders, 10 * MiB, short, "half-close");
    expect(patched.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorCode(patched.body)).toBe("SIZE_INVALID");
    expect(await uploadRange(location)).toBe(`0-${MiB - 1}`);
    // A client that vanished gets no answer; the upload is just as unchanged.
    await sendShort(location, "PATCH", patchHeaders, 10 * MiB, short, "destroy");
    expect(await uploadRange(location)).toBe(`0-${MiB - 1}`);

    const rest = randomBytes(MiB);
    const digest = sha256(Buffer.concat([start, rest]));
    const closing = await sendShort(
      `${location}?digest=${digest}`,
      "PUT",
      { Authorization: bearer },
      2 * MiB,
      rest,
      "half-close",
    );
    expect(closing.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorCode(closing.body)).toBe("SIZE_INVALID");
    expect(await uploadRange(location)).toBe(`0-${MiB - 1}`);

    const monolithic = randomBytes(2 * MiB);
    const target = `${wharf.url}/v2/${repo}/blobs/uploads/?digest=${sha256(monolithic)}`;
    const posted = await sendShort(
      target,
      "POST",
      { Authorization: bearer },
      monolithic.byteLength,
      monolithic.subarray(0, MiB),
      "half-close",
    );
    expect(posted.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorCode(posted.body)).toBe("SIZE_INVALID");
    expect(
      (await wharf.login.fetch(`${wharf.url}/v2/${repo}/blobs/${sha256(monolithic)}`, { method: "HEAD" })).status,
    ).toBe(404);

    const manifest = await sendShort(
      `${wharf.url}/v2/${repo}/manifests/v1`,
      "PUT",
      {
        Authorization: bearer,
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      },
      1000,
      Buffer.from('{"schemaVersion": 2,'),
      "half-close",
    );
    expect(manifest.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorCode(manifest.body)).toBe("SIZE_INVALID");

    // The upload goes on from where it stood.
    const resumed = await sendBody(
      location,
      "PATCH",
      { Authorization: bearer, "Content-Range": `${MiB}-${2 * MiB - 1}` },
      rest,
    );
    expectAnswered("resumed chunk", resumed, 202);
    const closed = await wharf.login.fetch(`${location}?digest=${digest}`, { method: "PUT" });
    expect(closed.status, await closed.text()).toBe(201);

    // Logged as an expected abort, never as a server fault (the whole run's output, both tests').
    const output = wharf.output();
    expect(output).not.toMatch(/unhandled error|uncaught/i);
    expect(output).toContain('"msg":"request body ended before its Content-Length","expected":true');
  });
});
