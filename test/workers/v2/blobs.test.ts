import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PART_SIZE } from "../../../src/registry/upload-ingest";
import {
  bodyBytes,
  bodyText,
  bytesOf,
  closeUpload,
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

const CONTENT = "0123456789abcdefghij"; // 20 bytes: easy to reason about ranges

async function pushed(prefix = "blobs"): Promise<{ name: string; digest: string }> {
  const name = uniqueName(prefix);
  return { name, digest: await pushBlob(name, CONTENT) };
}

function getRange(name: string, digest: string, range: string): Promise<Response> {
  return request("GET", `/v2/${name}/blobs/${digest}`, { headers: { Range: range } });
}

describe("GET /v2/:name/blobs/:digest", () => {
  it("answers 200 with the bytes, Content-Length, Docker-Content-Digest and Accept-Ranges", async () => {
    const { name, digest } = await pushed();
    const res = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("20");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(await bodyText(res)).toBe(CONTENT);
  });

  it("answers a binary blob byte-identical", async () => {
    const name = uniqueName("blobs");
    const data = new Uint8Array(256).map((_, i) => i);
    const digest = await pushBlob(name, data);
    const res = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(await bodyBytes(res)).toEqual(data);
  });

  it("serves an empty blob with Content-Length 0", async () => {
    const name = uniqueName("blobs");
    const digest = await pushBlob(name, "");
    expect(digest).toBe(await sha256(""));
    const res = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("0");
    expect((await bodyBytes(res)).byteLength).toBe(0);
  });

  it("answers 404 BLOB_UNKNOWN for a digest never pushed", async () => {
    const name = uniqueName("blobs");
    await pushBlob(name, "something else");
    const res = await request("GET", `/v2/${name}/blobs/${await sha256("never pushed")}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
  });

  it("answers 404 BLOB_UNKNOWN in a repository that does not exist", async () => {
    const { digest } = await pushed();
    const res = await request("GET", `/v2/${uniqueName("nowhere")}/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
  });

  it("does not serve a blob through a repository that does not link it", async () => {
    const { name, digest } = await pushed();
    const other = uniqueName("blobs");
    await pushBlob(other, "other repository content");
    const res = await request("GET", `/v2/${other}/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
    // Still readable where it was pushed.
    expect((await request("GET", `/v2/${name}/blobs/${digest}`)).status).toBe(200);
  });

  it("serves nested repository names like org/team/app", async () => {
    const name = `org/team/${crypto.randomUUID().slice(0, 8)}/app`;
    const digest = await pushBlob(name, CONTENT);
    const res = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(await bodyText(res)).toBe(CONTENT);
  });

  it("serves repositories whose names contain route words (blobs, uploads, manifests, tags)", async () => {
    const root = crypto.randomUUID().slice(0, 8);
    for (const name of [`${root}/blobs/app`, `${root}/blobs/uploads`, `${root}/manifests`, `${root}/tags/list`]) {
      const digest = await pushBlob(name, name);
      const res = await request("GET", `/v2/${name}/blobs/${digest}`);
      expect(res.status, name).toBe(200);
      expect(await bodyText(res), name).toBe(name);
      expect((await request("GET", `/v2/${root}/blobs/${digest}`)).status, name).toBe(404);
    }
  });

  it("answers 400 DIGEST_INVALID for a malformed or unsupported digest", async () => {
    const name = uniqueName("blobs");
    for (const digest of [
      "sha256:xyz",
      "notadigest",
      "sha256:ABCDEF",
      `sha512:${"a".repeat(128)}`,
      `sha256:${"a".repeat(63)}`,
    ]) {
      const res = await request("GET", `/v2/${name}/blobs/${digest}`);
      expect(res.status, digest).toBe(400);
      expect(await errorCode(res), digest).toBe("DIGEST_INVALID");
    }
  });

  it("answers 400 NAME_INVALID for invalid repository names", async () => {
    const digest = await sha256(CONTENT);
    const invalid = ["Upper/case", "a//b", "-leading/dash", "trailing-/x", `n/${"a".repeat(255)}`, "a/.b", "a__/b"];
    for (const name of invalid) {
      const res = await request("GET", `/v2/${name}/blobs/${digest}`);
      expect(res.status, name).toBe(400);
      expect(await errorCode(res), name).toBe("NAME_INVALID");
    }
  });

  it("accepts a name of exactly 255 characters", async () => {
    const name = `n/${"a".repeat(253)}`;
    expect(name).toHaveLength(255);
    const digest = await pushBlob(name, CONTENT);
    expect((await request("GET", `/v2/${name}/blobs/${digest}`)).status).toBe(200);
  });
});

describe("HEAD /v2/:name/blobs/:digest", () => {
  it("answers 200 with the blob's headers and no body", async () => {
    const { name, digest } = await pushed();
    const res = await request("HEAD", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("20");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect((await bodyBytes(res)).byteLength).toBe(0);
  });

  it("answers 404 without a body for an unknown blob", async () => {
    const name = uniqueName("blobs");
    await pushBlob(name, "x");
    const res = await request("HEAD", `/v2/${name}/blobs/${await sha256("unknown")}`);
    expect(res.status).toBe(404);
    expect((await bodyBytes(res)).byteLength).toBe(0);
  });
});

describe("GET /v2/:name/blobs/:digest with Range", () => {
  it("answers 206 with Content-Range for bytes=a-b", async () => {
    const { name, digest } = await pushed();
    const res = await getRange(name, digest, "bytes=2-5");
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 2-5/20");
    expect(res.headers.get("Content-Length")).toBe("4");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await bodyText(res)).toBe("2345");
  });

  it("answers 206 for an open range bytes=a-", async () => {
    const { name, digest } = await pushed();
    const res = await getRange(name, digest, "bytes=15-");
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 15-19/20");
    expect(res.headers.get("Content-Length")).toBe("5");
    expect(await bodyText(res)).toBe("fghij");
  });

  it("answers 206 for a suffix range bytes=-n", async () => {
    const { name, digest } = await pushed();
    const res = await getRange(name, digest, "bytes=-3");
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 17-19/20");
    expect(await bodyText(res)).toBe("hij");
  });

  it("clamps an end or suffix beyond the blob to its last byte", async () => {
    const { name, digest } = await pushed();
    const past = await getRange(name, digest, "bytes=18-1000");
    expect(past.status).toBe(206);
    expect(past.headers.get("Content-Range")).toBe("bytes 18-19/20");
    expect(await bodyText(past)).toBe("ij");
    const suffix = await getRange(name, digest, "bytes=-500");
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("Content-Range")).toBe("bytes 0-19/20");
    expect(await bodyText(suffix)).toBe(CONTENT);
  });

  it("answers a one-byte range", async () => {
    const { name, digest } = await pushed();
    const res = await getRange(name, digest, "bytes=0-0");
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 0-0/20");
    expect(await bodyText(res)).toBe("0");
  });

  it("answers 416 with Content-Range bytes */size for unsatisfiable or malformed ranges", async () => {
    const { name, digest } = await pushed();
    for (const range of ["bytes=20-", "bytes=25-30", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=-", "bytes=1-2-3"]) {
      const res = await getRange(name, digest, range);
      expect(res.status, range).toBe(416);
      expect(res.headers.get("Content-Range"), range).toBe("bytes */20");
      expect(await errorCode(res), range).toBe("RANGE_INVALID");
    }
  });

  it("answers 416 to a Range on HEAD that cannot be satisfied", async () => {
    const { name, digest } = await pushed();
    const res = await request("HEAD", `/v2/${name}/blobs/${digest}`, { headers: { Range: "bytes=40-" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("Content-Range")).toBe("bytes */20");
  });

  it("ignores a Range in another unit and answers the whole blob", async () => {
    const { name, digest } = await pushed();
    const res = await getRange(name, digest, "items=0-1");
    expect(res.status).toBe(200);
    expect(await bodyText(res)).toBe(CONTENT);
  });

  it("answers 404 BLOB_UNKNOWN, not 416, for a range on an unknown blob", async () => {
    const name = uniqueName("blobs");
    await pushBlob(name, "x");
    const res = await getRange(name, await sha256("unknown"), "bytes=0-1");
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("BLOB_UNKNOWN");
  });
});

describe("GET /v2/:name/blobs/:digest of a blob read in segments", () => {
  // Reads of more than 16 MiB go out as ranged R2 reads (src/storage/r2-blob-store.ts); the answer
  // must still carry its Content-Length and every byte in order.
  it("answers the whole blob with its Content-Length, byte-identical", async () => {
    const name = uniqueName("segments");
    const data = randomBytes(40 * 1024 * 1024 + 123);
    const digest = await pushBlob(name, data);
    await expectBlobContent(name, digest, data);
  });

  it("answers a range spanning several segments with 206 and the right bytes", async () => {
    const name = uniqueName("segments");
    const data = randomBytes(40 * 1024 * 1024);
    const digest = await pushBlob(name, data);
    const start = 5 * 1024 * 1024 + 7;
    const end = 38 * 1024 * 1024 + 3;
    const res = await request("GET", `/v2/${name}/blobs/${digest}`, { headers: { Range: `bytes=${start}-${end}` } });
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Length")).toBe(String(end - start + 1));
    expect(res.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/${data.byteLength}`);
    const pulled = await bodyBytes(res);
    expect(await sha256(pulled)).toBe(await sha256(data.subarray(start, end + 1)));
  });
});

describe("DELETE /v2/:name/blobs/:digest", () => {
  it("answers 202 and the blob is then unknown in that repository", async () => {
    const { name, digest } = await pushed();
    const res = await request("DELETE", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(202);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    const get = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(get.status).toBe(404);
    expect(await errorCode(get)).toBe("BLOB_UNKNOWN");
    expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  });

  it("answers 404 BLOB_UNKNOWN the second time", async () => {
    const { name, digest } = await pushed();
    expect((await request("DELETE", `/v2/${name}/blobs/${digest}`)).status).toBe(202);
    const again = await request("DELETE", `/v2/${name}/blobs/${digest}`);
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe("BLOB_UNKNOWN");
  });

  it("leaves the blob readable through other repositories that link it", async () => {
    const a = uniqueName("blobs");
    const b = uniqueName("blobs");
    const data = `shared ${crypto.randomUUID()}`;
    const digest = await pushBlob(a, data);
    expect(await pushBlob(b, data)).toBe(digest);
    expect((await request("DELETE", `/v2/${a}/blobs/${digest}`)).status).toBe(202);
    expect((await request("GET", `/v2/${a}/blobs/${digest}`)).status).toBe(404);
    const res = await request("GET", `/v2/${b}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(await bodyText(res)).toBe(data);
  });

  it("can push the blob again after deleting it", async () => {
    const { name, digest } = await pushed();
    expect((await request("DELETE", `/v2/${name}/blobs/${digest}`)).status).toBe(202);
    expect(await pushBlob(name, CONTENT)).toBe(digest);
    const res = await request("GET", `/v2/${name}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(await bodyBytes(res)).toEqual(bytesOf(CONTENT));
  });

  it("answers 400 DIGEST_INVALID for a malformed digest and 400 NAME_INVALID for a bad name", async () => {
    const bad = await request("DELETE", `/v2/${uniqueName("blobs")}/blobs/sha256:nothex`);
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("DIGEST_INVALID");
    const badName = await request("DELETE", `/v2/Bad/Name/blobs/${await sha256("x")}`);
    expect(badName.status).toBe(400);
    expect(await errorCode(badName)).toBe("NAME_INVALID");
  });
});

describe("blob storage deduplication", () => {
  it("stores identical content pushed to two repositories once", async () => {
    const data = bytesOf(`dedup ${crypto.randomUUID()}`);
    const a = uniqueName("dedup");
    const b = uniqueName("dedup");
    const digest = await pushBlob(a, data);
    expect(await pushBlob(b, data)).toBe(digest);
    // A chunked upload of the same content, too.
    const location = await openUpload(uniqueName("dedup"));
    expect((await patchChunk(location, data, 0)).status).toBe(202);
    expect((await closeUpload(location, digest)).status).toBe(201);
    const listed = await env.BLOBS.list({ prefix: `blobs/sha256/${digest.slice(7)}` });
    expect(listed.objects.map((o) => o.key)).toEqual([`blobs/sha256/${digest.slice(7)}`]);
    await expectBlobContent(a, digest, data);
    await expectBlobContent(b, digest, data);
  });

  it("keeps no second object when a multipart upload repeats known content", async () => {
    const data = randomBytes(PART_SIZE + 9);
    const a = uniqueName("dedup");
    const digest = await pushBlob(a, data);
    const b = uniqueName("dedup");
    const location = await openUpload(b);
    const uuid = location.split("/").pop()!;
    expect((await patchChunk(location, data, 0)).status).toBe(202);
    expect((await closeUpload(location, digest)).status).toBe(201);
    expect((await env.BLOBS.list({ prefix: `blobs/sha256/${digest.slice(7)}` })).objects).toHaveLength(1);
    expect(await env.BLOBS.head(`uploads/${uuid}`)).toBeNull();
    await expectBlobContent(b, digest, data);
  });
});
