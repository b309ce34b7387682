/**
 * Quay's filedrop (`POST /api/v1/filedrop/`) and the edge's signed upload URL: a Dockerfile
 * uploaded, built by its `file_id` (display name its checksum), handed to the connector as the
 * job's source; the URL's refusals, the size cap, and the cron's sweep of unused files.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { buildJobHandler } from "../../../src/builds/build-job";
import { FILEDROP_TTL_MS, storeFiledrop, sweepFiledrops } from "../../../src/builds/filedrop";
import { filedrops } from "../../../src/db/schema";
import { clock } from "../../../src/lib/clock";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { db } from "../helpers/accounts";
import { api, expectQuayError } from "../helpers/api";
import { type BuildAccounts, jobContext, makeBuildAccounts, REPO } from "../helpers/builds";
import { advanceClock } from "../helpers/clock";
import { answerOf } from "../helpers/api";
import { request, sha256 } from "../helpers/registry";

let a: BuildAccounts;

beforeAll(async () => {
  a = await makeBuildAccounts();
});

const DOCKERFILE = "FROM scratch\nCOPY hello /hello\n";

async function drop(token: string, mimeType = "text/plain") {
  const res = await api("POST", "/filedrop/", { token, body: { mimeType } });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json as { url: string; file_id: string };
}

const put = async (url: string, body: BodyInit) =>
  answerOf(await request("PUT", new URL(url).pathname + new URL(url).search, { body }));

describe("the filedrop", () => {
  it("round trip: upload, build by file_id (named by its checksum), the connector reads the bytes back", async () => {
    const { url, file_id } = await drop(a.will);
    expect(url).toMatch(new RegExp(`^http://registry\\.test/filedrop/${file_id}\\?expires=\\d+&signature=[\\w-]{43}$`));
    const uploaded = await put(url, DOCKERFILE);
    expect(uploaded.status, JSON.stringify(uploaded.json)).toBe(200);
    expect(uploaded.json).toEqual({ file_id, size: DOCKERFILE.length });
    const build = await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: { file_id } });
    expect(build.status, JSON.stringify(build.json)).toBe(201);
    expect(build.json.display_name).toBe((await sha256(DOCKERFILE)).slice("sha256:".length, "sha256:".length + 7));
    expect(build.json.resource_key).toBe(file_id);
    // Writers get Quay's `archive_url`: a signed link to download the file; readers do not.
    const download = await request(
      "GET",
      new URL(build.json.archive_url).pathname + new URL(build.json.archive_url).search,
    );
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Type")).toBe("text/plain");
    expect(await download.text()).toBe(DOCKERFILE);
    const forgedLink = build.json.archive_url.replace(/signature=[\w-]{43}/, `signature=${"B".repeat(43)}`);
    expect((await put(url, "x")).status).toBe(400);
    expect(
      (await answerOf(await request("GET", new URL(forgedLink).pathname + new URL(forgedLink).search))).status,
    ).toBe(404);
    // The upload URL is no download link.
    expect((await request("GET", new URL(url).pathname + new URL(url).search)).status).toBe(404);
    const asReader = await api("GET", `/repository/${REPO}/build/${build.json.id}`, { token: a.rita });
    expect(asReader.json).not.toHaveProperty("archive_url");
    const job = await leaseOpenJob("build", build.json.id);
    const described = (await buildJobHandler.describe(job, jobContext())) as { build: { source: unknown } };
    expect(described.build.source).toEqual({ kind: "upload", mime_type: "text/plain" });
    const source = await buildJobHandler.source!(job, jobContext());
    expect(source).toMatchObject({ size: DOCKERFILE.length, contentType: "text/plain" });
    expect(await new Response(source!.body).text()).toBe(DOCKERFILE);
  });

  it("takes only a media type for mimeType: one a header cannot carry would break the download (400)", async () => {
    // Served back as the download's and the connector's Content-Type: CR/LF or NUL there is a 500
    // (or a header injected), so it is refused when the file is asked for.
    for (const mimeType of ["text/plain\r\nSet-Cookie: a=b", "text/plain\u0000", "text/plain\n", "tëxt/plain", "plain"])
      expectQuayError(await api("POST", "/filedrop/", { token: a.will, body: { mimeType } }), 400, "invalid_request");
    const { url, file_id } = await drop(a.will, "application/x-tar; charset=binary");
    expect((await put(url, DOCKERFILE)).status).toBe(200);
    const build = await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: { file_id } });
    const link = new URL(build.json.archive_url);
    const download = await request("GET", link.pathname + link.search);
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Type")).toBe("application/x-tar; charset=binary");
  });

  it("stores a body larger than one multipart part whole", async () => {
    const { url, file_id } = await drop(a.will, "application/x-tar");
    const bytes = new Uint8Array(6 * 1024 * 1024 + 123).map((_, i) => i % 251);
    expect((await put(url, bytes)).status).toBe(200);
    const row = await db().select().from(filedrops).where(eq(filedrops.uuid, file_id)).get();
    expect(row?.size).toBe(bytes.length);
    expect(`sha256:${row?.sha256}`).toBe(await sha256(bytes));
    const stored = await new R2BlobStore(env.BLOBS).get(row!.objectKey);
    expect(new Uint8Array(await new Response(stored!.body).arrayBuffer())).toEqual(bytes);
  });

  it("refuses a forged or unknown URL (404), a second upload (400), an expired URL (403); anonymous callers get no URL", async () => {
    const { url } = await drop(a.will);
    const forged = url.replace(/signature=[\w-]{43}/, `signature=${"A".repeat(43)}`);
    expect((await put(forged, "x")).status).toBe(404);
    expect((await put(url.replace(/filedrop\/[0-9a-f-]{36}/, `filedrop/${crypto.randomUUID()}`), "x")).status).toBe(
      404,
    );
    expect((await put(url, DOCKERFILE)).status).toBe(200);
    const again = await put(url, DOCKERFILE);
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ error: "This file was already uploaded" });
    const later = await drop(a.will);
    advanceClock(3_601_000);
    const expired = await put(later.url, DOCKERFILE);
    expect(expired.status).toBe(403);
    expect(expired.json).toEqual({ error: "This upload URL has expired" });
    expectQuayError(await api("POST", "/filedrop/", { body: { mimeType: "text/plain" } }), 401, "invalid_token");
    expectQuayError(await api("POST", "/filedrop/", { token: a.will, body: {} }), 400, "invalid_request");
  });

  it("of two uploads racing on one URL, the one recorded is the one stored; the other keeps nothing (400)", async () => {
    // Both checked the URL before either finished: each holds the row as it was, not yet uploaded.
    const { file_id } = await drop(a.will);
    const row = (await db().select().from(filedrops).where(eq(filedrops.uuid, file_id)).get())!;
    const store = new R2BlobStore(env.BLOBS);
    await storeFiledrop(db(), store, row, new Response(DOCKERFILE).body!, 1024);
    await expect(storeFiledrop(db(), store, row, new Response("FROM evil\n").body!, 1024)).rejects.toMatchObject({
      kind: "invalid",
      message: "This file was already uploaded",
    });
    const recorded = (await db().select().from(filedrops).where(eq(filedrops.uuid, file_id)).get())!;
    expect(`sha256:${recorded.sha256}`).toBe(await sha256(DOCKERFILE));
    const stored = await store.get(recorded.objectKey);
    expect(await new Response(stored!.body).text()).toBe(DOCKERFILE);
  });

  it("caps the size (413) and keeps nothing of a refused upload", async () => {
    const { file_id } = await drop(a.will);
    const row = (await db().select().from(filedrops).where(eq(filedrops.uuid, file_id)).get())!;
    const store = new R2BlobStore(env.BLOBS);
    await expect(storeFiledrop(db(), store, row, new Response("0123456789").body!, 5)).rejects.toMatchObject({
      kind: "too_large",
    });
    expect((await db().select().from(filedrops).where(eq(filedrops.uuid, file_id)).get())?.size).toBeNull();
    expect(await store.size(row.objectKey)).toBeNull();
  });

  it("builds only the uploader's file until a build used it", async () => {
    const { url, file_id } = await drop(a.otto);
    await put(url, DOCKERFILE);
    expectQuayError(
      await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: { file_id } }),
      400,
      "invalid_request",
      `File ${file_id} could not be found or is invalid`,
    );
  });

  it("the cron sweeps files a day old that no running build uses, row and bytes", async () => {
    const unused = await drop(a.will);
    await put(unused.url, DOCKERFILE);
    const used = await drop(a.will);
    await put(used.url, DOCKERFILE);
    expect(
      (await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: { file_id: used.file_id } })).status,
    ).toBe(201);
    const key = (await db().select().from(filedrops).where(eq(filedrops.uuid, unused.file_id)).get())!.objectKey;
    const store = new R2BlobStore(env.BLOBS);
    await sweepFiledrops(db(), store, clock.now() + FILEDROP_TTL_MS + 1000);
    expect(await db().select().from(filedrops).where(eq(filedrops.uuid, unused.file_id)).get()).toBeUndefined();
    expect(await store.size(key)).toBeNull();
    expect(await db().select().from(filedrops).where(eq(filedrops.uuid, used.file_id)).get()).toBeDefined();
  });
});
