import { eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { registrySize } from "../../../src/db/schema";
import { BLOBS_PER_STEP } from "../../../src/registry/registry-size";
import { clock } from "../../../src/lib/clock";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { captureJobs, consumeJob } from "../helpers/queue-jobs";

let admin: string;
/** One blob more than a step sums, so the calculation takes two steps. */
const BLOB_COUNT = BLOBS_PER_STEP + 1;
const TOTAL = (BLOB_COUNT * (BLOB_COUNT + 1)) / 2;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
  // Blob i has i bytes.
  await db().run(sql`insert into blobs (digest, size, storage_key)
    with recursive n(i) as (select 1 union all select i + 1 from n where i < ${BLOB_COUNT})
    select printf('sha256:%064d', i), i, 'blobs/x' from n`);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("registry size", () => {
  it("answers Quay's default before any calculation", async () => {
    const res = await api("GET", "/superuser/registrysize/", { token: admin });
    expect(res.status).toBe(200);
    // Quay `superuser.py` SuperUserRegistrySize.get: size_bytes, last_ran, running, queued.
    expect(res.json).toEqual({ size_bytes: 0, last_ran: null, running: false, queued: false });
  });

  it("queues one calculation however often asked (201, then 202), sums every blob in steps", async () => {
    const jobs = captureJobs();
    const first = await api("POST", "/superuser/registrysize/", { token: admin });
    expect(first.status).toBe(201);
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(202);
    expect(jobs).toEqual([{ type: "registry_size", after: null, bytes: 0 }]);
    expect((await api("GET", "/superuser/registrysize/", { token: admin })).json).toMatchObject({
      queued: true,
      running: false,
    });

    // The consumer's first step sums one slice and queues the rest.
    expect(await consumeJob(jobs.shift()!)).toBe(true);
    expect(jobs).toEqual([
      {
        type: "registry_size",
        after: `sha256:${String(BLOBS_PER_STEP).padStart(64, "0")}`,
        bytes: (BLOBS_PER_STEP * (BLOBS_PER_STEP + 1)) / 2,
      },
    ]);
    expect((await api("GET", "/superuser/registrysize/", { token: admin })).json).toMatchObject({
      queued: false,
      running: true,
    });
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(202);

    expect(await consumeJob(jobs.shift()!)).toBe(true);
    expect(jobs).toEqual([]);
    const done = await api("GET", "/superuser/registrysize/", { token: admin });
    expect(done.json).toEqual({ size_bytes: TOTAL, last_ran: expect.any(Number), running: false, queued: false });

    // Done: a new request queues a new calculation.
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(201);
    expect(jobs).toHaveLength(1);
  });

  it("queues again when a queued calculation was lost (untouched for an hour)", async () => {
    const jobs = captureJobs();
    await db().update(registrySize).set({ queued: true, running: false }).where(eq(registrySize.id, 1));
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(202);
    await db()
      .update(registrySize)
      .set({ updatedAt: clock.now() - 2 * 3_600_000 })
      .where(eq(registrySize.id, 1));
    expect((await api("POST", "/superuser/registrysize/", { token: admin })).status).toBe(201);
    expect(jobs).toHaveLength(1);
  });

  it("refuses the anonymous (401), a non-superuser (403), a token without super:user (403)", async () => {
    const jobs = captureJobs();
    const olga = await tokenFor("olga", ["super:user", "user:admin"]);
    const narrow = await tokenFor("admin", ["user:admin"]);
    for (const method of ["GET", "POST"]) {
      expectQuayError(await api(method, "/superuser/registrysize/"), 401, "invalid_token");
      expectQuayError(await api(method, "/superuser/registrysize/", { token: olga }), 403, "insufficient_scope");
      expectQuayError(await api(method, "/superuser/registrysize/", { token: narrow }), 403, "insufficient_scope");
    }
    expect(jobs).toEqual([]);
  });
});
