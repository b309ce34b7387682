/**
 * What a manifest PUT costs in D1 round trips (a statement run alone, or a batch), counted on the
 * D1 binding the Worker and the repository's Durable Object share. The events outbox adds no round
 * trip before the answer (push_repo joins the commit's batch); its publication, after the answer,
 * deletes the outbox row: one more. Before the outbox (168f1c6), the same pushes made 10 round
 * trips to a new tag and 11 moving a tag (the Durable Object read the alive tag and then its
 * manifest's digest, now one join), and none after the answer.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, expect, it, vi } from "vitest";
import { database } from "../../../src/db/client";
import { namespaceQuotas, quotaLimits, users } from "../../../src/db/schema";
import { initializeAdmin } from "../helpers/api";
import { makeUser } from "../helpers/accounts";
import { recordEvents } from "../helpers/events";
import { OCI_MANIFEST, registryToken, request, imageManifest } from "../helpers/registry";

beforeAll(async () => {
  await makeUser(await initializeAdmin(), "olga");
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Records D1 round trips from now on, as the queries each sends: a statement run alone is one, a
 * batch (its statements together) is one.
 */
function recordRoundTrips(): string[][] {
  const trips: string[][] = [];
  const queries = new Map<D1PreparedStatement, string>();
  /** Makes `statement`'s runs count, and the statements it binds. */
  const counted = (statement: D1PreparedStatement, query: string): D1PreparedStatement => {
    queries.set(statement, query);
    for (const method of ["all", "first", "run", "raw"] as const) {
      const run = (statement[method] as (...args: unknown[]) => Promise<unknown>).bind(statement);
      Object.assign(statement, {
        [method]: (...args: unknown[]) => {
          trips.push([query]);
          return run(...args);
        },
      });
    }
    const bind = statement.bind.bind(statement);
    Object.assign(statement, { bind: (...values: unknown[]) => counted(bind(...values), query) });
    return statement;
  };
  const prepare = env.DB.prepare.bind(env.DB);
  const batch = env.DB.batch.bind(env.DB);
  const withSession = env.DB.withSession.bind(env.DB);
  vi.spyOn(env.DB, "prepare").mockImplementation((query: string) => counted(prepare(query), query));
  vi.spyOn(env.DB, "batch").mockImplementation(async (statements) => {
    trips.push(statements.map((statement) => queries.get(statement) ?? "?"));
    return batch(statements);
  });
  // /v2 requests read and write through a D1 session (src/middleware/db-session.ts): counted alike.
  vi.spyOn(env.DB, "withSession").mockImplementation((constraint) => {
    const session = withSession(constraint);
    return {
      prepare: (query: string) => counted(session.prepare(query), query),
      batch: async (statements: D1PreparedStatement[]) => {
        trips.push(statements.map((statement) => queries.get(statement) ?? "?"));
        return session.batch(statements);
      },
      getBookmark: () => session.getBookmark(),
    } as D1DatabaseSession;
  });
  return trips;
}

/** The round trips of a manifest PUT: those it makes to answer, and those that publish its event. */
async function measuredPut(name: string, tag: string, manifest: string, token: string) {
  const recorder = recordEvents();
  const trips = recordRoundTrips();
  const res = await request("PUT", `/v2/${name}/manifests/${tag}`, {
    token,
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(res.status).toBe(201);
  await recorder.published();
  vi.restoreAllMocks();
  // The publication runs after the answer (waitUntil), so it is told apart by what it does.
  const publishing = (trip: string[]) => trip.some((query) => query.startsWith('delete from "event_outbox"'));
  // The recorder's own reads of the outbox are the test's.
  const waiting = (trip: string[]) => trip.some((query) => /^select .* from "event_outbox"/s.test(query));
  return {
    answering: trips.filter((trip) => !publishing(trip) && !waiting(trip)),
    publishing: trips.filter(publishing),
  };
}

it("a manifest PUT by tag: 10 D1 round trips to answer (as before the outbox), and 1 to publish its event", async () => {
  const name = "olga/costed";
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "olga");
  const first = await imageManifest(name);
  const second = await imageManifest(name);
  // A first manifest ends the repository's first push; the pushes measured are ordinary ones.
  expect((await measuredPut(name, "first", first, token)).publishing).toHaveLength(1);

  // A new tag. Write re-check (2 reads issued together), repository, blob touch and links, image
  // config; in the repository's Durable Object: the repository's name (with the namespace's quota
  // rules and usage, in the same read), the links again, the alive tag, then the commit's batch,
  // with push_repo's outbox row and the usage charge in it. Before the outbox: the same 10.
  const created = await measuredPut(name, "v1", first, token);
  expect(created.answering.length, JSON.stringify(created.answering, null, 1)).toBe(10);
  expect(created.answering.at(-1)).toContain(
    'insert into "event_outbox" ("id", "created_at", "body") values (?, ?, ?)',
  );
  expect(created.publishing).toHaveLength(1);

  // Moving the tag: the alive tag and its manifest's digest are one join now (before the outbox,
  // two reads: 11 round trips).
  const moved = await measuredPut(name, "v1", second, token);
  expect(moved.answering.length, JSON.stringify(moved.answering, null, 1)).toBe(10);
  expect(moved.publishing).toHaveLength(1);
});

it("a manifest PUT into a namespace with a quota costs the same: the refusal and the crossings ride in the commit's batch", async () => {
  const db = database(env.DB);
  const olga = (await db.select().from(users).where(eq(users.username, "olga")).get())!;
  const quota = (await db
    .insert(namespaceQuotas)
    .values({ namespaceId: olga.id, limitBytes: 1 << 30 })
    .returning()
    .get())!;
  await db.insert(quotaLimits).values([
    { quotaId: quota.id, type: "Warning", thresholdPercent: 80 },
    { quotaId: quota.id, type: "Reject", thresholdPercent: 100 },
  ]);
  const name = "olga/limited";
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "olga");
  await measuredPut(name, "first", await imageManifest(name), token);
  const created = await measuredPut(name, "v1", await imageManifest(name), token);
  expect(created.answering.length, JSON.stringify(created.answering, null, 1)).toBe(10);
  const commit = created.answering.at(-1)!;
  expect(commit[0]).toContain("insert into quota_refusals");
  expect(commit.filter((query) => query.startsWith("update users set storage_bytes"))).toHaveLength(1);
  expect(created.publishing).toHaveLength(1);
});
