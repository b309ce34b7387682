// What test/workers/setup.ts does before each file, since the files share one workerd: if a file
// could see what another left, tests would pass or fail by the order the files ran in.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { emptyBucket, emptyDatabase, freshDurableObjects } from "./helpers/fresh-state";

describe("a fresh state for each test file", () => {
  it("empties every table of a database and starts its ids again, keeping the schema and the migrations", async () => {
    const tables = async () =>
      (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).results;
    const before = await tables();
    const insertUser = () =>
      env.DB.prepare("INSERT INTO users (username, email, created_at) VALUES (?, ?, 0) RETURNING id")
        .bind(`fresh${Math.random()}`, `fresh${Math.random()}@example.com`)
        .first<{ id: number }>();
    const first = await insertUser();
    await insertUser();
    await emptyDatabase(env.DB);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users").first("n")).toBe(0);
    expect(await tables()).toEqual(before);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM d1_migrations").first("n")).toBeGreaterThan(30);
    expect((await insertUser())?.id).toBe(first?.id);
  });

  it("empties the bucket past one page of listing", async () => {
    await Promise.all(Array.from({ length: 1005 }, (_, i) => env.BLOBS.put(`fresh/${i}`, "x")));
    await emptyBucket(env.BLOBS);
    expect((await env.BLOBS.list()).objects).toEqual([]);
  });

  it("answers the same name with another object after each file's start, the last file's emptied", async () => {
    const stub = () => env.LOGIN_LIMITER.get(env.LOGIN_LIMITER.idFromName("fresh-state"));
    const before = env.LOGIN_LIMITER.idFromName("fresh-state").toString();
    await runInDurableObject(stub(), async (_object: unknown, state: DurableObjectState) => {
      await state.storage.put("left", 1);
      await state.storage.setAlarm(Date.now() + 3_600_000);
    });
    const previous = stub();
    await freshDurableObjects(env);
    expect(env.LOGIN_LIMITER.idFromName("fresh-state").toString()).not.toBe(before);
    await runInDurableObject(stub(), async (_object: unknown, state: DurableObjectState) => {
      expect(await state.storage.get("left")).toBeUndefined();
    });
    // The object the name reached before holds nothing and will not wake.
    await runInDurableObject(previous, async (_object: unknown, state: DurableObjectState) => {
      expect(await state.storage.get("left")).toBeUndefined();
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });
});
