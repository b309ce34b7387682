/**
 * The drizzle client over a D1 session (src/db/client.ts `sessionDb`): a /v2 request builds one
 * (src/middleware/db-session.ts), so it must work on a session exactly as on the binding, and be
 * cheap to build. drizzle with a schema walks all of it per client; without, it does not.
 */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { batchSql, runBatch, sessionDb } from "../../../src/db/client";
import * as schema from "../../../src/db/schema";
import { uniqueName } from "../helpers/registry";

describe("a drizzle client over a D1 session", () => {
  it("reads, writes and batches through the session, whose bookmark advances with each", async () => {
    const session = env.DB.withSession("first-primary");
    expect(session.getBookmark()).toBeNull();
    const db = sessionDb(session);
    const name = uniqueName("session");
    await runBatch(db, [
      db.insert(schema.gcState).values({ pass: name, cursor: "1" }),
      db.insert(schema.gcState).values({ pass: `${name}-2`, cursor: "2" }),
    ]);
    const afterWrite = session.getBookmark();
    expect(afterWrite).toMatch(/\S/);
    const row = await db.select().from(schema.gcState).where(eq(schema.gcState.pass, name)).get();
    expect(row?.cursor).toBe("1");
    const [raw] = await batchSql(db, [sql`select cursor from gc_state where pass = ${`${name}-2`}`]);
    expect(raw?.results).toEqual([{ cursor: "2" }]);
    // A session opened at that bookmark sees at least that write.
    const later = sessionDb(env.DB.withSession(afterWrite!));
    expect((await later.select().from(schema.gcState).where(eq(schema.gcState.pass, name)).get())?.cursor).toBe("1");
  });

  it("is built per request for a fraction of the cost of a client with the schema", () => {
    const rounds = 300;
    const time = (build: () => unknown) => {
      const start = performance.now();
      for (let i = 0; i < rounds; i++) build();
      return (performance.now() - start) / rounds;
    };
    time(() => sessionDb(env.DB.withSession("first-unconstrained"))); // warm up
    const withSchema = time(() =>
      drizzle(env.DB.withSession("first-unconstrained") as unknown as D1Database, { schema, casing: "snake_case" }),
    );
    const schemaless = time(() => sessionDb(env.DB.withSession("first-unconstrained")));
    console.log(JSON.stringify({ msg: "client build cost", withSchemaMs: withSchema, schemalessMs: schemaless }));
    // Measured ~0.165 ms against under 0.005 ms; a factor of 5 holds on a busy machine.
    expect(schemaless * 5).toBeLessThan(withSchema);
  });
});
