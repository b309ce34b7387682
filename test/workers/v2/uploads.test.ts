import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import {
  bytesOf,
  closeUpload,
  concatBytes,
  errorCode,
  expectBlobContent,
  openUpload,
  patchChunk,
  pushBlob,
  randomBytes,
  request,
  sha256,
  uniqueName,
} from "../helpers/registry";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function status(location: string): Promise<Response> {
  return request("GET", location);
}

async function expectUnknownUpload(res: Response): Promise<void> {
  expect(res.status).toBe(404);
  expect(await errorCode(res)).toBe("BLOB_UPLOAD_UNKNOWN");
}

describe("POST /v2/:name/blobs/uploads/", () => {
  it("answers 202 with Location, Range 0-0, Docker-Upload-UUID and OCI-Chunk-Min-Length", async () => {
    const name = uniqueName("up");
    const res = await request("POST", `/v2/${name}/blobs/uploads/`);
    expect(res.status).toBe(202);
    const uuid = res.headers.get("Docker-Upload-UUID")!;
    expect(uuid).toMatch(UUID);
    expect(res.headers.get("Location")).toBe(`/v2/${name}/blobs/uploads/${uuid}`);
    expect(res.headers.get("Range")).toBe("0-0");
    expect(res.headers.get("OCI-Chunk-Min-Length")).toBe(String(PART_SIZE));
  });

  it("?digest= stores a monolithic blob: 201 with Location and Docker-Content-Digest", async () => {
    const name = uniqueName("up");
    const data = randomBytes(3000);
    const digest = await sha256(data);
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      body: data,
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(data.byteLength) },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v2/${name}/blobs/${digest}`);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectBlobContent(name, digest, data);
  });

  it("?digest= with a streamed body of unknown length stores the blob", async () => {
    const name = uniqueName("up");
    const data = randomBytes(5000);
    const digest = await sha256(data);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(data.slice(0, 1234));
        controller.enqueue(data.slice(1234));
        controller.close();
      },
    });
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, { body });
    expect(res.status).toBe(201);
    await expectBlobContent(name, digest, data);
  });

  it("?digest= with a wrong digest answers 400 DIGEST_INVALID and stores nothing", async () => {
    const name = uniqueName("up");
    const data = bytesOf(`content ${crypto.randomUUID()}`);
    const claimed = await sha256(`other ${crypto.randomUUID()}`);
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${claimed}`, {
      body: data,
      headers: { "Content-Length": String(data.byteLength) },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    for (const digest of [claimed, await sha256(data)]) {
      const get = await request("GET", `/v2/${name}/blobs/${digest}`);
      expect(get.status).toBe(404);
      expect(await errorCode(get)).toBe("BLOB_UNKNOWN");
      expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
      expect(await env.BLOBS.head(`blobs/sha256/${digest.slice(7)}`)).toBeNull();
    }
  });

  it("?digest= with a wrong digest for content the registry already has answers 400 and links nothing", async () => {
    const owner = uniqueName("up");
    const data = bytesOf(`known ${crypto.randomUUID()}`);
    const digest = await pushBlob(owner, data);
    const name = uniqueName("up");
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      body: bytesOf("not the known content"),
      headers: { "Content-Length": "21" },
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  });

  it("?digest= whose Content-Length disagrees with the body answers 400 SIZE_INVALID and records nothing", async () => {
    const name = uniqueName("up");
    const data = bytesOf(`ten bytes? ${crypto.randomUUID()}`);
    const digest = await sha256(data);
    for (const length of [5, data.byteLength + 10]) {
      const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
        body: data,
        headers: { "Content-Length": String(length) },
      });
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("SIZE_INVALID");
      expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
    }
    const malformed = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      body: data,
      headers: { "Content-Length": "ten" },
    });
    expect(malformed.status).toBe(400);
    expect(await errorCode(malformed)).toBe("SIZE_INVALID");
  });

  it("?digest= with a malformed digest answers 400 DIGEST_INVALID", async () => {
    const res = await request("POST", `/v2/${uniqueName("up")}/blobs/uploads/?digest=sha256:zz`, { body: "x" });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
  });

  it("answers 400 NAME_INVALID for an invalid repository name", async () => {
    const res = await request("POST", `/v2/Invalid/Name/blobs/uploads/`);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("NAME_INVALID");
  });
});

describe("PUT /v2/:name/blobs/uploads/:uuid", () => {
  it("closes a POST-opened upload with the whole body: 201, then the blob is readable", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const data = randomBytes(4096);
    const digest = await sha256(data);
    const res = await closeUpload(location, digest, data);
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v2/${name}/blobs/${digest}`);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectBlobContent(name, digest, data);
    await expectUnknownUpload(await status(location));
  });

  it("with a wrong digest answers 400 DIGEST_INVALID; the upload is gone and the blob unknown", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const data = randomBytes(PART_SIZE + 100);
    expect((await patchChunk(location, data, 0)).status).toBe(202);
    const wrong = await sha256("something else");
    const res = await closeUpload(location, wrong);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    await expectUnknownUpload(await status(location));
    for (const digest of [wrong, await sha256(data)]) {
      expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
    }
    const uuid = location.split("/").pop()!;
    expect((await env.BLOBS.list({ prefix: `uploads/${uuid}` })).objects).toHaveLength(0);
  });

  it("without ?digest= answers 400 DIGEST_INVALID and leaves the upload open", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const data = bytesOf("abc");
    expect((await patchChunk(location, data, 0)).status).toBe(202);
    const res = await request("PUT", location, { headers: { "Content-Length": "0" } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("DIGEST_INVALID");
    const after = await status(location);
    expect(after.status).toBe(204);
    expect(after.headers.get("Range")).toBe("0-2");
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
  });
});

describe("PATCH /v2/:name/blobs/uploads/:uuid", () => {
  it("accepts uneven chunks (1 byte, > PART_SIZE…) and a final chunk in the PUT; pulls back identical", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const chunks = [randomBytes(1), randomBytes(1000), randomBytes(PART_SIZE + 4321), randomBytes(1), randomBytes(77)];
    const finalChunk = randomBytes(555);
    const data = concatBytes(...chunks, finalChunk);
    const digest = await sha256(data);
    let offset = 0;
    for (const chunk of chunks) {
      const res = await patchChunk(location, chunk, offset);
      expect(res.status).toBe(202);
      offset += chunk.byteLength;
      expect(res.headers.get("Range")).toBe(`0-${offset - 1}`);
      expect(res.headers.get("Location")).toBe(location);
      expect(res.headers.get("Docker-Upload-UUID")).toBe(location.split("/").pop());
    }
    const uuid = location.split("/").pop()!;
    // The chunk larger than a part started an R2 multipart upload under uploads/<uuid>.
    const state = await status(location);
    expect(state.status).toBe(204);
    expect(state.headers.get("Range")).toBe(`0-${offset - 1}`);

    const res = await closeUpload(location, digest, finalChunk, {
      "Content-Range": `${offset}-${offset + finalChunk.byteLength - 1}`,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectBlobContent(name, digest, data);
    expect((await env.BLOBS.head(`uploads/${uuid}`))?.size).toBe(data.byteLength);
  });

  it("accepts chunks without Content-Range (streamed PATCH) and a PUT without a body", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const parts = [randomBytes(10), randomBytes(20000), randomBytes(3)];
    let offset = 0;
    for (const part of parts) {
      const res = await request("PATCH", location, {
        body: part,
        headers: { "Content-Type": "application/octet-stream" },
      });
      expect(res.status).toBe(202);
      offset += part.byteLength;
      expect(res.headers.get("Range")).toBe(`0-${offset - 1}`);
    }
    const data = concatBytes(...parts);
    const digest = await sha256(data);
    expect((await closeUpload(location, digest)).status).toBe(201);
    await expectBlobContent(name, digest, data);
  });

  it("answers 416 to an out-of-order chunk, with Range and Location, and changes nothing", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const first = randomBytes(100);
    expect((await patchChunk(location, first, 0)).status).toBe(202);
    for (const start of [50, 101, 0]) {
      const res = await patchChunk(location, randomBytes(10), start);
      expect(res.status, `start ${start}`).toBe(416);
      expect(res.headers.get("Range")).toBe("0-99");
      expect(res.headers.get("Location")).toBe(location);
      const after = await status(location);
      expect(after.status).toBe(204);
      expect(after.headers.get("Range")).toBe("0-99");
    }
    const second = randomBytes(50);
    expect((await patchChunk(location, second, 100)).status).toBe(202);
    const data = concatBytes(first, second);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("answers 416 to a malformed Content-Range", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    for (const range of ["abc", "5-2", "-3", "0-", "bytes 0-x/*"]) {
      const res = await patchChunk(location, randomBytes(4), 0, { "Content-Range": range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get("Location"), range).toBe(location);
    }
    expect((await status(location)).headers.get("Range")).toBe("0-0");
  });

  it("refuses a chunk whose Content-Range disagrees with its Content-Length and commits nothing", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const first = randomBytes(10);
    expect((await patchChunk(location, first, 0)).status).toBe(202);
    const res = await patchChunk(location, randomBytes(5), 10, { "Content-Range": "10-19" });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("BLOB_UPLOAD_INVALID");
    expect((await status(location)).headers.get("Range")).toBe("0-9");
    expect((await closeUpload(location, await sha256(first))).status).toBe(201);
  });

  it("refuses a streamed chunk shorter than its Content-Range and commits nothing", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const first = randomBytes(PART_SIZE - 10);
    expect((await patchChunk(location, first, 0)).status).toBe(202);
    // 30 bytes announced, 20 sent: the part boundary is crossed before the shortfall shows.
    const short = randomBytes(20);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(short);
        controller.close();
      },
    });
    const res = await request("PATCH", location, {
      body,
      headers: { "Content-Range": `${first.byteLength}-${first.byteLength + 29}` },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get("Range")).toBe(`0-${first.byteLength - 1}`);
    expect((await status(location)).headers.get("Range")).toBe(`0-${first.byteLength - 1}`);
    // The upload continues from where it was, and the digest covers only committed bytes.
    const rest = randomBytes(30);
    expect((await patchChunk(location, rest, first.byteLength)).status).toBe(202);
    const data = concatBytes(first, rest);
    expect((await closeUpload(location, await sha256(data))).status).toBe(201);
    await expectBlobContent(name, await sha256(data), data);
  });

  it("a PUT whose final chunk is out of order answers 416 and keeps the upload", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const data = randomBytes(64);
    expect((await patchChunk(location, data, 0)).status).toBe(202);
    const res = await closeUpload(location, await sha256(data), randomBytes(4), { "Content-Range": "10-13" });
    expect(res.status).toBe(416);
    expect(res.headers.get("Location")).toBe(location);
    expect((await status(location)).headers.get("Range")).toBe("0-63");
  });
});

describe("GET and DELETE /v2/:name/blobs/uploads/:uuid", () => {
  it("GET answers 204 with Range, Location and Docker-Upload-UUID", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    const empty = await status(location);
    expect(empty.status).toBe(204);
    expect(empty.headers.get("Range")).toBe("0-0");
    expect(empty.headers.get("Location")).toBe(location);
    expect(empty.headers.get("Docker-Upload-UUID")).toBe(location.split("/").pop());
    await patchChunk(location, randomBytes(7), 0);
    expect((await status(location)).headers.get("Range")).toBe("0-6");
  });

  it("DELETE cancels: 204, then GET answers 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const name = uniqueName("up");
    const location = await openUpload(name);
    expect((await patchChunk(location, randomBytes(PART_SIZE + 1), 0)).status).toBe(202);
    expect((await request("DELETE", location)).status).toBe(204);
    await expectUnknownUpload(await status(location));
    await expectUnknownUpload(await request("DELETE", location));
    await expectUnknownUpload(await patchChunk(location, randomBytes(1), 0));
  });

  it("an unknown or garbage upload id answers 404 BLOB_UPLOAD_UNKNOWN on every method", async () => {
    const name = uniqueName("up");
    await openUpload(name);
    const digest = await sha256("x");
    for (const id of [crypto.randomUUID(), "not-a-uuid", "ZZZ", "0"]) {
      const location = `/v2/${name}/blobs/uploads/${id}`;
      await expectUnknownUpload(await status(location));
      await expectUnknownUpload(await patchChunk(location, bytesOf("x"), 0));
      await expectUnknownUpload(await closeUpload(location, digest, bytesOf("x")));
      await expectUnknownUpload(await request("DELETE", location));
    }
  });

  it("an upload opened in repository A cannot be used through repository B", async () => {
    const a = uniqueName("up");
    const b = uniqueName("up");
    await openUpload(b);
    const location = await openUpload(a);
    const viaB = location.replace(`/v2/${a}/`, `/v2/${b}/`);
    const data = bytesOf("abc");
    await expectUnknownUpload(await status(viaB));
    await expectUnknownUpload(await patchChunk(viaB, data, 0));
    await expectUnknownUpload(await closeUpload(viaB, await sha256(data), data));
    await expectUnknownUpload(await request("DELETE", viaB));
    // Still intact through A.
    expect((await status(location)).headers.get("Range")).toBe("0-0");
    expect((await closeUpload(location, await sha256(data), data)).status).toBe(201);
    expect((await request("HEAD", `/v2/${b}/blobs/${await sha256(data)}`)).status).toBe(404);
  });
});

describe("POST /v2/:name/blobs/uploads/?mount=&from=", () => {
  it("answers 201 when the source links the blob, which is then readable through the target", async () => {
    const source = uniqueName("mount");
    const target = uniqueName("mount");
    const data = bytesOf(`mounted ${crypto.randomUUID()}`);
    const digest = await pushBlob(source, data);
    const res = await request("POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`);
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v2/${target}/blobs/${digest}`);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectBlobContent(target, digest, data);
  });

  it("answers 202 with a new upload session when the source does not link the blob", async () => {
    const source = uniqueName("mount");
    const target = uniqueName("mount");
    const elsewhere = uniqueName("mount");
    const digest = await pushBlob(elsewhere, `only elsewhere ${crypto.randomUUID()}`);
    await pushBlob(source, "source has other things");
    for (const query of [
      `mount=${digest}&from=${source}`,
      `mount=${digest}`,
      `mount=${digest}&from=${uniqueName("none")}`,
    ]) {
      const res = await request("POST", `/v2/${target}/blobs/uploads/?${query}`);
      expect(res.status, query).toBe(202);
      const uuid = res.headers.get("Docker-Upload-UUID")!;
      expect(uuid).toMatch(UUID);
      expect(res.headers.get("Location")).toBe(`/v2/${target}/blobs/uploads/${uuid}`);
      expect(res.headers.get("Range")).toBe("0-0");
      expect((await status(res.headers.get("Location")!)).status).toBe(204);
    }
    expect((await request("HEAD", `/v2/${target}/blobs/${digest}`)).status).toBe(404);
  });
});
