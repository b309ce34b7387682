import { readConfig } from "../../../src/config";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { count, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import {
  blobs,
  manifestReferences,
  manifests,
  repositories,
  repositoryBlobs,
  repositoryPermissions,
  repositoryStars,
  tags,
} from "../../../src/db/schema";
import worker from "../../../src/index";
import { prepareManifest } from "../../../src/registry/manifests";
import { findRepository } from "../../../src/registry/repositories";
import { purgeRepository } from "../../../src/registry/repository-deletion";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { basic, db, makeUser, pushBlobWith, pushImageWith, tokenFor, v2Token } from "../helpers/accounts";
import { bytesOf, errorCode, ociManifestOver, refusalOf, request, sha256, subjectNamed } from "../helpers/registry";
import { eventsAs } from "../helpers/events";
import { writableCores } from "../../../src/registry/core-db";

let olga: string;
let olgaPassword: string;
let gus: string;

const olgaPush = async (name: string) =>
  (await v2Token(basic("olga", olgaPassword), `repository:${name}:pull,push,delete`)).token;

/** Rows left anywhere for repository `id`. */
async function rowsOf(id: number) {
  const n = async (query: Promise<{ n: number }[]>) => (await query)[0]!.n;
  return {
    repository: await n(db().select({ n: count() }).from(repositories).where(eq(repositories.id, id))),
    tags: await n(db().select({ n: count() }).from(tags).where(eq(tags.repositoryId, id))),
    manifests: await n(db().select({ n: count() }).from(manifests).where(eq(manifests.repositoryId, id))),
    references: await n(
      db()
        .select({ n: count() })
        .from(manifestReferences)
        .innerJoin(manifests, eq(manifests.id, manifestReferences.manifestId))
        .where(eq(manifests.repositoryId, id)),
    ),
    blobLinks: await n(db().select({ n: count() }).from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, id))),
    stars: await n(db().select({ n: count() }).from(repositoryStars).where(eq(repositoryStars.repositoryId, id))),
    permissions: await n(
      db().select({ n: count() }).from(repositoryPermissions).where(eq(repositoryPermissions.repositoryId, id)),
    ),
  };
}

const NONE = { repository: 0, tags: 0, manifests: 0, references: 0, blobLinks: 0, stars: 0, permissions: 0 };

beforeAll(async () => {
  const admin = await initializeAdmin();
  olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
});

describe("DELETE /api/v1/repository/{repository}", () => {
  it("makes it vanish at once; its name is free for the next push; a blob another repository shares stays readable", async () => {
    const doomed = await olgaPush("olga/doomed");
    const keep = await olgaPush("olga/keep");
    expect((await pushImageWith(doomed, "olga/doomed", "v1")).status).toBe(201);
    const shared = "bytes both repositories hold";
    expect((await pushBlobWith(doomed, "olga/doomed", shared)).status).toBe(201);
    expect((await pushBlobWith(keep, "olga/keep", shared)).status).toBe(201);
    await api("PUT", "/repository/olga/doomed/permissions/user/gus", { token: olga, body: { role: "read" } });
    await api("POST", "/user/starred", { token: olga, body: { namespace: "olga", repository: "doomed" } });
    const id = (await findRepository(db(), "olga/doomed"))!.id;

    const res = await request("DELETE", "/api/v1/repository/olga/doomed", {
      headers: { Authorization: `Bearer ${olga}` },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    // Gone for everyone at once, with Quay's 404 body.
    const gone = await api("GET", "/repository/olga/doomed", { token: olga });
    expect(gone.json).toEqual({
      detail: "Not Found",
      error_message: "Not Found",
      error_type: "not_found",
      title: "not_found",
      type: "http://registry.test/api/v1/error/not_found",
      status: 404,
    });
    expectQuayError(await api("GET", "/repository/olga/doomed", { token: gus }), 404, "not_found");
    expectQuayError(await api("DELETE", "/repository/olga/doomed", { token: olga }), 404, "not_found");
    const listed = await api("GET", "/repository?namespace=olga", { token: olga });
    expect(listed.json.repositories.map((r: { name: string }) => r.name)).not.toContain("doomed");
    expect((await api("GET", "/user/starred", { token: olga })).json.repositories).toEqual([]);
    const tagsList = await request("GET", "/v2/olga/doomed/tags/list", { token: doomed });
    expect(await errorCode(tagsList)).toBe("NAME_UNKNOWN");
    expect((await rowsOf(id)).permissions).toBe(0);

    // Other repositories keep their data and the shared bytes.
    const blob = await request("GET", `/v2/olga/keep/blobs/${await sha256(shared)}`, { token: keep });
    expect(blob.status).toBe(200);
    expect(await blob.text()).toBe(shared);

    // The name is free: a push creates a new, empty repository.
    expect((await pushImageWith(await olgaPush("olga/doomed"), "olga/doomed", "v2")).status).toBe(201);
    const reborn = await api("GET", "/repository/olga/doomed", { token: olga });
    expect(Object.keys(reborn.json.tags)).toEqual(["v2"]);
    expect((await findRepository(db(), "olga/doomed"))!.id).not.toBe(id);

    // The background step removes every row of the old repository, and nothing else.
    expect(await purgeRepository(db(), id)).toMatchObject({ done: true });
    expect(await rowsOf(id)).toEqual(NONE);
    expect(
      (
        await db()
          .select()
          .from(blobs)
          .where(eq(blobs.digest, await sha256(shared)))
          .all()
      ).length,
    ).toBe(1);
    expect((await request("GET", `/v2/olga/keep/blobs/${await sha256(shared)}`, { token: keep })).status).toBe(200);
    expect(
      (await request("GET", "/v2/olga/doomed/manifests/v2", { token: await olgaPush("olga/doomed") })).status,
    ).toBe(200);
  });

  it("refuses without a token, with repo:write, to a writer, and answers 404 for a missing one", async () => {
    await api("POST", "/repository", {
      token: olga,
      body: { repository: "kept", visibility: "private", description: "" },
    });
    expectQuayError(await api("DELETE", "/repository/olga/kept"), 401, "invalid_token");
    expectQuayError(
      await api("DELETE", "/repository/olga/kept", { token: await tokenFor("olga", ["repo:write"]) }),
      403,
      "insufficient_scope",
    );
    await api("PUT", "/repository/olga/kept/permissions/user/gus", { token: olga, body: { role: "write" } });
    expectQuayError(await api("DELETE", "/repository/olga/kept", { token: gus }), 403, "insufficient_scope");
    expectQuayError(await api("DELETE", "/repository/olga/never", { token: gus }), 403, "insufficient_scope");
    expectQuayError(await api("DELETE", "/repository/olga/never", { token: olga }), 404, "not_found");
    expect((await api("GET", "/repository/olga/kept", { token: olga })).status).toBe(200);
  });

  it("purges a large repository in bounded chunks, and never a live one", async () => {
    const push = await olgaPush("olga/big");
    expect((await pushImageWith(push, "olga/big", "v1")).status).toBe(201);
    const id = (await findRepository(db(), "olga/big"))!.id;
    const manifestId = (await db()
      .select({ id: manifests.id })
      .from(manifests)
      .where(eq(manifests.repositoryId, id))
      .get())!.id;
    // 2,500 ended tag lifetimes: history rows, as many moves leave behind.
    await db().run(sql`insert into tags (repository_id, name, manifest_id, lifetime_start_ms, lifetime_end_ms)
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 2500)
      select ${id}, 'old' || i, ${manifestId}, i, i + 1 from n`);

    const keepId = (await findRepository(db(), "olga/keep"))!.id;
    const keepBefore = await rowsOf(keepId);
    expect(await purgeRepository(db(), keepId)).toEqual({ done: true, deleted: 0 });
    expect(await rowsOf(keepId)).toEqual(keepBefore);

    expect((await api("DELETE", "/repository/olga/big", { token: olga })).status).toBe(204);
    let calls = 0;
    for (;;) {
      calls++;
      if ((await purgeRepository(db(), id, { maxStatements: 1 })).done) break;
      expect(calls).toBeLessThan(50);
    }
    // 2,501 tag rows: two full chunks, each ending a call, then the rest in the third.
    expect(calls).toBe(3);
    expect(await rowsOf(id)).toEqual(NONE);
  });

  it("is purged by the queue consumer from its repository_deleted event", async () => {
    expect((await pushImageWith(await olgaPush("olga/queued"), "olga/queued", "v1")).status).toBe(201);
    const id = (await findRepository(db(), "olga/queued"))!.id;
    expect((await api("DELETE", "/repository/olga/queued", { token: olga })).status).toBe(204);
    const batch = createMessageBatch("wharf-events", [
      {
        id: "m1",
        timestamp: new Date(),
        attempts: 1,
        body: { type: "repository_deleted", repository: "olga/queued", repositoryId: id, at: Date.now() },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(await rowsOf(id)).toEqual(NONE);
  });

  it("leaves no rows from a push that races the delete: the Durable Object refuses the late commit", async () => {
    const name = "olga/race";
    const token = await olgaPush(name);
    const config = JSON.stringify({ architecture: "amd64", os: "linux" });
    expect((await pushBlobWith(token, name, config)).status).toBe(201);
    const manifest = await ociManifestOver(config);
    const id = (await findRepository(db(), name))!.id;
    // The push has validated its manifest; then the repository is deleted before it commits.
    const commit = await prepareManifest(
      db(),
      writableCores(env),
      new R2BlobStore(env.BLOBS),
      name,
      { kind: "tag", tag: "late" },
      bytesOf(manifest),
      "application/vnd.oci.image.manifest.v1+json",
      await subjectNamed("olga"),
      { maxTagExpirationSeconds: readConfig(env).MAXIMUM_TAG_EXPIRATION },
      await eventsAs("olga"),
    );
    expect((await api("DELETE", `/repository/${name}`, { token: olga })).status).toBe(204);
    const outcome = await env.REPOSITORY.get(env.REPOSITORY.idFromName(name)).commitManifest(commit);
    expect(refusalOf(outcome).registry).toMatchObject({ code: "NAME_UNKNOWN" });
    expect((await rowsOf(id)).manifests).toBe(0);
    expect((await rowsOf(id)).tags).toBe(0);
  });
});
