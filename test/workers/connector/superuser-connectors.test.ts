/**
 * Wharf's superuser operations on the origin connectors (`/api/v1/superuser/connectors`): create
 * (the token once, 201), list (with leased jobs and what hello said), delete (its leases back on the
 * queue, its token refused), the queue's listing by state and kind, newest first and paged; the
 * `connector_create` and `connector_delete` entries in the superuser's logs, with their metadata.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectors } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { loggedEntry } from "../helpers/action-logs";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { browser } from "../helpers/signed-in";
import {
  clearJobs,
  connectorCall,
  jobByUuid,
  lease,
  queueJob,
  recordingHandler,
  registerHandler,
} from "../helpers/connectors";

let admin: string;
let plain: string;
let unregister: () => void;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "someone");
  plain = await tokenFor("someone", ["super:user", "user:admin"]);
});

beforeEach(async () => {
  await clearJobs();
  unregister = registerHandler(recordingHandler("build"));
});

afterEach(() => unregister());

const create = (body: unknown, token = admin) => api("POST", "/superuser/connectors", { token, body });

describe("creating a connector", () => {
  it("answers 201 with the token once; only its hash is stored", async () => {
    const res = await create({ name: "  rack-7  ", kinds: ["build", "scan", "build"] });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      uuid: expect.any(String),
      name: "rack-7",
      kinds: ["build", "scan"],
      created: expect.stringMatching(/-0000$/),
      last_seen: null,
      info: {},
      leased_jobs: 0,
      token: expect.stringMatching(/^wharfc_[A-Za-z0-9]{40}$/),
    });
    const row = await db().select().from(connectors).where(eq(connectors.uuid, res.json.uuid)).get();
    expect(row?.tokenHash).toBe(await sha256Hex(res.json.token));
    const listed = (await api("GET", "/superuser/connectors", { token: admin })).json.connectors;
    expect(JSON.stringify(listed)).not.toContain(res.json.token);
  });

  it("refuses a bad name or kinds, and anyone but a superuser", async () => {
    expectQuayError(await create({ name: "", kinds: ["build"] }), 400, "invalid_request");
    expectQuayError(await create({ name: "x".repeat(65), kinds: ["build"] }), 400, "invalid_request");
    expectQuayError(await create({ name: "a", kinds: [] }), 400, "invalid_request");
    expectQuayError(await create({ name: "a", kinds: ["scan_notification"] }), 400, "invalid_request");
    expectQuayError(await create({ name: "a" }), 400, "invalid_request", "'kinds' is a required property");
    expectQuayError(await create({ name: "a", kinds: ["build"] }, plain), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/superuser/connectors", { token: plain }), 403, "insufficient_scope");
  });
});

describe("the connectors' list", () => {
  it("shows what hello said, when each was last seen and how many jobs each holds", async () => {
    const { uuid, token } = (await create({ name: "lister", kinds: ["build"] })).json;
    const hello = { version: "1.0.0", hostname: "h1", builder: "buildah", scanner: false };
    await connectorCall(token, "POST", "/hello", { body: hello });
    await queueJob("build");
    await queueJob("build");
    await lease(token, ["build"]);
    await lease(token, ["build"]);
    const listed = (await api("GET", "/superuser/connectors", { token: admin })).json.connectors;
    expect(listed.find((c: { uuid: string }) => c.uuid === uuid)).toMatchObject({
      name: "lister",
      kinds: ["build"],
      last_seen: expect.stringMatching(/-0000$/),
      info: hello,
      leased_jobs: 2,
    });
  });
});

describe("deleting a connector", () => {
  it("puts its leased jobs back on the queue, without counting the lease, and refuses its token", async () => {
    const { uuid, token } = (await create({ name: "doomed", kinds: ["build"] })).json;
    const job = await queueJob("build");
    await lease(token, ["build"]);
    expect((await api("DELETE", `/superuser/connectors/${uuid}`, { token: admin })).status).toBe(204);
    expect(await jobByUuid(job.uuid)).toMatchObject({
      state: "queued",
      attempts: 0,
      connectorId: null,
      leaseToken: null,
    });
    expect((await lease(token, ["build"])).status).toBe(401);
    expectQuayError(await api("DELETE", `/superuser/connectors/${uuid}`, { token: admin }), 404, "not_found");
    expectQuayError(await api("DELETE", "/superuser/connectors/nope", { token: plain }), 403, "insufficient_scope");
  });
});

describe("the queue's listing", () => {
  it("lists jobs newest first, by state and kind, paged with next_page", async () => {
    const { token, uuid } = (await create({ name: "pager", kinds: ["build", "scan"] })).json;
    const jobs = [await queueJob("build"), await queueJob("scan"), await queueJob("build")];
    await lease(token, ["build"]);
    const all = (await api("GET", "/superuser/connectors/jobs", { token: admin })).json;
    expect(all.jobs.map((j: { uuid: string }) => j.uuid)).toEqual(jobs.map((j) => j.uuid).reverse());
    expect(all).not.toHaveProperty("next_page");
    expect(all.jobs[2]).toEqual({
      uuid: jobs[0]!.uuid,
      kind: "build",
      subject: jobs[0]!.subject,
      state: "leased",
      attempts: 1,
      repository: null,
      connector: { uuid, name: "pager" },
      available: expect.any(String),
      lease_expires: expect.any(String),
      error: null,
      created: expect.any(String),
      updated: expect.any(String),
    });
    const leased = (await api("GET", "/superuser/connectors/jobs?state=leased", { token: admin })).json.jobs;
    expect(leased.map((j: { uuid: string }) => j.uuid)).toEqual([jobs[0]!.uuid]);
    const scans = (await api("GET", "/superuser/connectors/jobs?kind=scan", { token: admin })).json.jobs;
    expect(scans.map((j: { uuid: string }) => j.uuid)).toEqual([jobs[1]!.uuid]);
    const first = (await api("GET", "/superuser/connectors/jobs?limit=2", { token: admin })).json;
    expect(first.jobs).toHaveLength(2);
    const rest = (await api("GET", `/superuser/connectors/jobs?limit=2&next_page=${first.next_page}`, { token: admin }))
      .json;
    expect(rest.jobs.map((j: { uuid: string }) => j.uuid)).toEqual([jobs[0]!.uuid]);
    expectQuayError(
      await api("GET", "/superuser/connectors/jobs?state=lost", { token: admin }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("GET", "/superuser/connectors/jobs?limit=101", { token: admin }), 400, "invalid_request");
    expectQuayError(
      await api("GET", "/superuser/connectors/jobs?next_page=forged", { token: admin }),
      400,
      "invalid_request",
    );
  });
});

describe("a stale browser session", () => {
  it("may read but not create or delete (fresh login, as Quay's superuser changes)", async () => {
    const { uuid } = (await create({ name: "kept", kinds: ["build"] })).json;
    const headers = await browser("admin", "admin-password-1");
    advanceClock(11 * 60_000);
    expect((await api("GET", "/superuser/connectors", { headers })).status).toBe(200);
    expect((await api("GET", "/superuser/connectors/jobs", { headers })).status).toBe(200);
    const body = { name: "late", kinds: ["build"] };
    expectQuayError(await api("POST", "/superuser/connectors", { headers, body }), 401, "fresh_login_required");
    expectQuayError(await api("DELETE", `/superuser/connectors/${uuid}`, { headers }), 401, "fresh_login_required");
    const names = (await api("GET", "/superuser/connectors", { token: admin })).json.connectors.map(
      (c: { name: string }) => c.name,
    );
    expect(names).toContain("kept");
    expect(names).not.toContain("late");
  });
});

describe("the superuser's logs", () => {
  it("record connector_create and connector_delete with the connector's name and uuid", async () => {
    let uuid = "";
    const created = await loggedEntry(admin, "/superuser/logs", "connector_create", async () => {
      const res = await create({ name: "logged", kinds: ["scan"] });
      uuid = res.json.uuid;
      return res;
    });
    expect(created).toMatchObject({
      kind: "connector_create",
      performer: { kind: "user", name: "admin", is_robot: false },
      metadata: { connector: "logged", connector_uuid: uuid },
    });
    expect(created.namespace).toBeUndefined();
    const deleted = await loggedEntry(admin, "/superuser/logs", "connector_delete", () =>
      api("DELETE", `/superuser/connectors/${uuid}`, { token: admin }),
    );
    expect(deleted.metadata).toEqual({ connector: "logged", connector_uuid: uuid });
  });
});
