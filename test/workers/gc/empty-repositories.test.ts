/**
 * Empty repositories a push left behind (issue #12, item 7g): a first push creates the repository,
 * then the upload is abandoned (or a mount falls back to an upload nobody finishes) and nothing is
 * ever pushed. Garbage collection deletes such a repository once no push has touched it for
 * UPLOAD_EXPIRY_SECONDS (every upload of it has then been aborted by its alarm), through the
 * ordinary repository deletion; a repository created through the API, or that ever held a
 * manifest, is kept, and a push that is still going on keeps its repository.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { database } from "../../../src/db/client";
import { repositories, users } from "../../../src/db/schema";
import { abandonedBefore, abandonedRepositories } from "../../../src/gc/empty-repositories";
import { runGarbageCollection } from "../../../src/gc/scheduler";
import { clock } from "../../../src/lib/clock";
import { deleteRepository } from "../../../src/registry/repository-deletion";
import { api } from "../helpers/api";
import { tokenFor } from "../helpers/accounts";
import { advanceClock, freezeClock } from "../helpers/clock";
import { pushImage, request, sha256 } from "../helpers/registry";
import { systemOrigin } from "../../../src/events/envelope";

const db = () => database(env.DB);
const EXPIRY_MS = readConfig(env).UPLOAD_EXPIRY_SECONDS * 1000;
/** Comfortably past the collector's margin over UPLOAD_EXPIRY_SECONDS. */
const LATER = EXPIRY_MS + 3_600_000;

async function namespace(): Promise<string> {
  const name = `empty${crypto.randomUUID().slice(0, 8)}`;
  await db().insert(users).values({ username: name, kind: "user" });
  return name;
}
const repository = (name: string) => db().select().from(repositories).where(eq(repositories.name, name)).get();

/** The env with EVENTS recording what is sent instead of queueing it. */
function recordingEnv() {
  const sent: { type: string; repository?: string; repositoryId?: number }[] = [];
  const events = {
    send: async (body: never) => void sent.push(body),
    sendBatch: async (messages: Iterable<{ body: never }>) => void sent.push(...[...messages].map((m) => m.body)),
  };
  return { env: { ...env, EVENTS: events } as unknown as Env, sent };
}

/** Opens an upload (POST …/blobs/uploads/) and leaves it; returns its Location. */
async function abandonUpload(name: string, query = ""): Promise<string> {
  const res = await request("POST", `/v2/${name}/blobs/uploads/${query}`);
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

describe("empty repositories left by a push", () => {
  it("are deleted through the repository deletion once UPLOAD_EXPIRY_SECONDS have passed, and their name is free", async () => {
    const name = `${await namespace()}/abandoned`;
    await abandonUpload(name);
    const id = (await repository(name))!.id;

    const early = recordingEnv();
    await runGarbageCollection(early.env, Date.now() + EXPIRY_MS / 2);
    expect(await repository(name)).toBeDefined();

    const { env: spied, sent } = recordingEnv();
    const run = await runGarbageCollection(spied, Date.now() + LATER);
    expect(run.failed).toEqual([]);
    expect(await repository(name)).toBeUndefined();
    expect(sent).toContainEqual(
      expect.objectContaining({ type: "repository_deleted", repository: name, repositoryId: id }),
    );
    // The next push starts afresh.
    await abandonUpload(name);
    expect((await repository(name))!.id).not.toBe(id);
  });

  it("include one a mount created before it fell back to an upload", async () => {
    const name = `${await namespace()}/mounted`;
    const missing = `sha256:${"0".repeat(64)}`;
    await abandonUpload(name, `?mount=${missing}&from=${encodeURIComponent(`${await namespace()}/source`)}`);
    await runGarbageCollection(recordingEnv().env, Date.now() + LATER);
    expect(await repository(name)).toBeUndefined();
  });

  it("are kept while a push goes on: each chunk of a live upload counts", async () => {
    const name = `${await namespace()}/slow`;
    const start = clock.now();
    const location = await abandonUpload(name);
    // The upload's next chunk arrives most of UPLOAD_EXPIRY_SECONDS later (the clock is moved for
    // the Worker and the upload's Durable Object alike).
    freezeClock(start + EXPIRY_MS - 60_000);
    const chunk = await request("PATCH", location, {
      body: new Uint8Array(1024).fill(7),
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(chunk.status).toBe(202);

    await runGarbageCollection(recordingEnv().env, start + LATER);
    expect(await repository(name)).toBeDefined();
    await runGarbageCollection(recordingEnv().env, start + EXPIRY_MS + LATER);
    expect(await repository(name)).toBeUndefined();
  });
});

describe("repositories that are kept", () => {
  it("one created through the API stays, empty or not", async () => {
    const owner = await namespace();
    const created = await api("POST", "/repository", {
      token: await tokenFor(owner),
      body: { namespace: owner, repository: "deliberate", visibility: "private", description: "made on purpose" },
    });
    expect(created.status).toBe(201);
    await abandonUpload(`${owner}/deliberate`);
    await runGarbageCollection(recordingEnv().env, Date.now() + LATER);
    expect(await repository(`${owner}/deliberate`)).toBeDefined();
  });

  it("one that ever held a manifest stays, even once its tags and manifests are gone", async () => {
    const name = `${await namespace()}/pushed`;
    await pushImage(name, "v1");
    const id = (await repository(name))!.id;
    // As if every tag had left the time machine and garbage collection had taken the manifest.
    await db().run(sql`delete from tags where repository_id = ${id}`);
    await db().run(
      sql`delete from manifest_labels where manifest_id in (select id from manifests where repository_id = ${id})`,
    );
    await db().run(
      sql`delete from manifest_references where manifest_id in (select id from manifests where repository_id = ${id})`,
    );
    await db().run(sql`delete from manifests where repository_id = ${id}`);
    await runGarbageCollection(recordingEnv().env, Date.now() + LATER);
    expect(await repository(name)).toBeDefined();
  });
});

describe("a push racing the collector", () => {
  /** A repository whose first push opened an upload long ago and never came back. */
  async function staleRepository(): Promise<{ name: string; id: number; before: number }> {
    const name = `${await namespace()}/race`;
    await abandonUpload(name);
    advanceClock(LATER);
    const before = abandonedBefore(clock.now(), readConfig(env).UPLOAD_EXPIRY_SECONDS);
    const id = (await repository(name))!.id;
    expect((await abandonedRepositories(db(), before, 10_000)).map((r) => r.id)).toContain(id);
    return { name, id, before };
  }

  it("an upload that starts after the collector chose the repository keeps it, and finishes into it", async () => {
    const { name, id, before } = await staleRepository();
    const location = await abandonUpload(name); // the push arrives between the choice and the deletion
    expect(
      await deleteRepository(recordingEnv().env, { id, name }, systemOrigin("gc"), { abandonedBefore: before }),
    ).toBe(false);
    expect((await repository(name))!.id).toBe(id);

    const bytes = new TextEncoder().encode(`late blob ${crypto.randomUUID()}`);
    const digest = await sha256(bytes);
    const put = await request("PUT", `${location}?digest=${digest}`, {
      body: bytes,
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(put.status).toBe(201);
    expect((await request("HEAD", `/v2/${name}/blobs/${digest}`)).status).toBe(200);
  });

  it("the deletion re-checks for a manifest in the statement that deletes, whatever the mark says", async () => {
    const { name, id, before } = await staleRepository();
    // A manifest committed (under the same lock) after the collector chose the repository; the
    // mark is left stale on purpose, so only the manifest can save the repository.
    await db().run(
      sql`insert into manifests (repository_id, digest, size, media_type) values (${id}, ${`sha256:${"a".repeat(64)}`}, 2, 'application/vnd.oci.image.manifest.v1+json')`,
    );
    expect(
      await deleteRepository(recordingEnv().env, { id, name }, systemOrigin("gc"), { abandonedBefore: before }),
    ).toBe(false);
    expect((await repository(name))!.id).toBe(id);
  });
});
