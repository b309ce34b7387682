/**
 * The connectors' job queue through `/connector/v1` (docs/connector.md): leases, their race, their
 * expiry and attempts, heartbeats, completion, failure with retry and backoff, cancellation, and a
 * handler that says a job no longer applies. A recording handler stands in for a feature's.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cancelJobStatement } from "../../../src/connector/job-queue";
import { claimJob } from "../../../src/connector/leases";
import { EXHAUSTED_REASON } from "../../../src/connector/lease-expiry";
import { db } from "../helpers/accounts";
import { advanceClock, freezeClock } from "../helpers/clock";
import {
  clearJobs,
  connectorCall,
  jobBySubject,
  jobByUuid,
  lease,
  newConnector,
  queueJob,
  recordingHandler,
  registerHandler,
} from "../helpers/connectors";

let unregister: (() => void)[] = [];
let handler: ReturnType<typeof recordingHandler>;

beforeEach(async () => {
  await clearJobs();
  handler = recordingHandler("build", { source: "FROM scratch\n" });
  unregister = [registerHandler(handler)];
});

afterEach(() => {
  for (const undo of unregister) undo();
});

const call = (token: string, path: string, leaseToken: string, body?: unknown) =>
  connectorCall(token, "POST", path, { lease: leaseToken, body });

describe("leasing", () => {
  it("leases the oldest due job with the handler's fields, then answers 204 when none is due", async () => {
    const { token, connector } = await newConnector(["build"]);
    const first = await queueJob("build");
    await queueJob("build");
    const res = await lease(token, ["build"]);
    expect(res.status).toBe(200);
    expect(res.json.job).toEqual({
      uuid: first.uuid,
      kind: "build",
      lease_token: expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      lease_expires_at: expect.any(Number),
      attempts: 1,
      build: { subject: first.subject },
    });
    const row = await jobByUuid(first.uuid);
    expect(row).toMatchObject({
      state: "leased",
      attempts: 1,
      connectorId: connector.id,
      leaseToken: res.json.job.lease_token,
    });
    expect((await lease(token, ["build"])).status).toBe(200);
    expect((await lease(token, ["build"])).status).toBe(204);
  });

  it("never gives one job to two connectors racing for it", async () => {
    const a = await newConnector(["build"]);
    const b = await newConnector(["build"]);
    const job = await queueJob("build");
    const answers = await Promise.all([
      lease(a.token, ["build"]),
      lease(b.token, ["build"]),
      lease(a.token, ["build"]),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 204, 204]);
    expect((await jobByUuid(job.uuid))!.attempts).toBe(1);
    // The conditional update itself: two claims of the row as both read it, one wins.
    await clearJobs();
    const row = await queueJob("build");
    const claims = await Promise.all([claimJob(db(), row, a.connector), claimJob(db(), row, b.connector)]);
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    expect(await claimJob(db(), row, a.connector)).toBeNull();
  });

  it("serves only kinds a handler serves, and closes a job that no longer applies and leases the next", async () => {
    const { token } = await newConnector(["build", "scan"]);
    expect((await lease(token, ["scan"])).status).toBe(204);
    const gone = await queueJob("build");
    const next = await queueJob("build");
    unregister.push(registerHandler(recordingHandler("build", { skip: new Set([gone.subject]) })));
    const res = await lease(token, ["build"]);
    expect(res.json.job.uuid).toBe(next.uuid);
    expect(await jobByUuid(gone.uuid)).toMatchObject({ state: "cancelled", error: "the job no longer applies" });
  });

  it("puts a job its handler could not describe back after a backoff, answering 500", async () => {
    const now = freezeClock();
    const { token } = await newConnector(["build"]);
    const job = await queueJob("build");
    handler.describe = async () => {
      throw new Error("R2 unavailable");
    };
    const res = await lease(token, ["build"]);
    expect(res).toMatchObject({ status: 500, json: { error: "internal", message: "Internal error" } });
    expect(await jobByUuid(job.uuid)).toMatchObject({ state: "queued", attempts: 1, availableAt: now + 60_000 });
  });
});

describe("an expired lease", () => {
  it("goes back to the queue and is leased again with one more attempt; the third fails for good", async () => {
    freezeClock();
    const a = await newConnector(["build"]);
    const b = await newConnector(["build"]);
    const job = await queueJob("build");
    const first = await lease(a.token, ["build"]);
    expect(first.json.job.attempts).toBe(1);
    advanceClock(59_000);
    expect((await lease(b.token, ["build"])).status).toBe(204);
    advanceClock(1_000);
    const second = await lease(b.token, ["build"]);
    expect(second.json.job).toMatchObject({ uuid: job.uuid, attempts: 2 });
    // The first holder lost it: its calls change nothing.
    const stale = await call(a.token, `/jobs/${job.uuid}/complete`, first.json.job.lease_token, { ok: true });
    expect(stale).toMatchObject({ status: 409, json: { error: "lease_lost", message: expect.any(String) } });
    const staleBeat = await call(a.token, `/jobs/${job.uuid}/heartbeat`, first.json.job.lease_token, {});
    expect(staleBeat.status).toBe(409);
    expect(staleBeat.json).not.toHaveProperty("cancelled");
    expect(handler.calls.completed).toEqual([]);
    expect(await jobByUuid(job.uuid)).toMatchObject({ state: "leased", leaseToken: second.json.job.lease_token });
    advanceClock(60_000);
    expect((await lease(a.token, ["build"])).json.job.attempts).toBe(3);
    advanceClock(60_000);
    expect((await lease(a.token, ["build"])).status).toBe(204);
    expect(handler.calls.failed).toEqual([
      { job: expect.objectContaining({ uuid: job.uuid, attempts: 3 }), reason: EXHAUSTED_REASON },
    ]);
    expect(await jobByUuid(job.uuid)).toMatchObject({ state: "failed", error: EXHAUSTED_REASON });
  });

  it("is renewed by each heartbeat, which hands the progress to the handler", async () => {
    freezeClock();
    const { token } = await newConnector(["build"]);
    const job = await queueJob("build");
    const leased = (await lease(token, ["build"])).json.job;
    advanceClock(50_000);
    const report = { phase: "building", logs: [{ message: "STEP 1/2: FROM scratch" }] };
    const beat = await call(token, `/jobs/${job.uuid}/heartbeat`, leased.lease_token, report);
    expect(beat).toMatchObject({ status: 200, json: { lease_expires_at: leased.lease_expires_at + 50_000 } });
    expect(handler.calls.progress).toEqual([report]);
    advanceClock(50_000);
    const other = await newConnector(["build"]);
    expect((await lease(other.token, ["build"])).status).toBe(204);
  });
});

describe("settling a job", () => {
  async function leased() {
    const { token } = await newConnector(["build"]);
    const job = await queueJob("build");
    const leaseToken = (await lease(token, ["build"])).json.job.lease_token as string;
    return { token, job, leaseToken };
  }

  it("completes through the handler; a result the handler refuses leaves it leased", async () => {
    const { token, job, leaseToken } = await leased();
    const refused = await call(token, `/jobs/${job.uuid}/complete`, leaseToken, { ok: false });
    expect(refused).toMatchObject({ status: 400, json: { error: "invalid", message: "ok: must be true" } });
    expect((await jobByUuid(job.uuid))!.state).toBe("leased");
    expect(await call(token, `/jobs/${job.uuid}/complete`, leaseToken, { ok: true })).toMatchObject({
      status: 200,
      json: {},
    });
    expect(handler.calls.completed).toEqual([{ ok: true }]);
    expect((await jobByUuid(job.uuid))!.state).toBe("done");
    expect((await call(token, `/jobs/${job.uuid}/complete`, leaseToken, { ok: true })).status).toBe(409);
    expect(handler.calls.completed).toHaveLength(1);
  });

  it("retries a failure after 30 s × 2^attempts while leases remain, then fails it for good", async () => {
    const now = freezeClock();
    const { token, job, leaseToken } = await leased();
    expect(
      await call(token, `/jobs/${job.uuid}/fail`, leaseToken, { error: "registry down", retry: true }),
    ).toMatchObject({ status: 200 });
    expect(await jobByUuid(job.uuid)).toMatchObject({
      state: "queued",
      availableAt: now + 60_000,
      error: "registry down",
      leaseToken: null,
    });
    advanceClock(59_999);
    expect((await lease(token, ["build"])).status).toBe(204);
    advanceClock(1);
    const second = (await lease(token, ["build"])).json.job;
    expect(second.attempts).toBe(2);
    await call(token, `/jobs/${job.uuid}/fail`, second.lease_token, { error: "again", retry: true });
    expect((await jobByUuid(job.uuid))!.availableAt).toBe(now + 60_000 + 120_000);
    advanceClock(120_000);
    const third = (await lease(token, ["build"])).json.job;
    expect(handler.calls.failed).toEqual([]);
    await call(token, `/jobs/${job.uuid}/fail`, third.lease_token, { error: "still down", retry: true });
    expect(handler.calls.failed).toEqual([{ job: expect.objectContaining({ uuid: job.uuid }), reason: "still down" }]);
    expect(await jobByUuid(job.uuid)).toMatchObject({ state: "failed", error: "still down" });
  });

  it("fails at once without retry", async () => {
    const { token, job, leaseToken } = await leased();
    await call(token, `/jobs/${job.uuid}/fail`, leaseToken, { error: "Dockerfile syntax error", retry: false });
    expect(handler.calls.failed.map((f) => f.reason)).toEqual(["Dockerfile syntax error"]);
    expect((await jobByUuid(job.uuid))!.state).toBe("failed");
  });

  it("a cancelled job answers its holder 409 with cancelled; the cancel returns the job it closed, if one was open", async () => {
    const { token, job, leaseToken } = await leased();
    const cancel = (reason: string) => cancelJobStatement(db(), "build", job.subject, reason).all();
    expect(await cancel("cancelled by the user")).toHaveLength(1);
    expect(await cancel("again")).toEqual([]);
    const beat = await call(token, `/jobs/${job.uuid}/heartbeat`, leaseToken, {});
    expect(beat).toMatchObject({ status: 409, json: { error: "lease_lost", cancelled: true } });
    const done = await call(token, `/jobs/${job.uuid}/complete`, leaseToken, { ok: true });
    expect(done).toMatchObject({ status: 409, json: { cancelled: true } });
    expect(handler.calls.completed).toEqual([]);
    expect(await jobBySubject(job.subject)).toMatchObject({ state: "cancelled", error: "cancelled by the user" });
    // A queued job is cancelled too, and never leased; the statement joins a feature's batch.
    const queued = await queueJob("build");
    const [cancelled] = await db().batch([cancelJobStatement(db(), "build", queued.subject, "gone")]);
    expect(cancelled).toHaveLength(1);
    expect((await lease(token, ["build"])).status).toBe(204);
  });

  it("streams the source to the lease holder only, opened by its lease token", async () => {
    const { token, job, leaseToken } = await leased();
    const res = await connectorCall(token, "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken });
    expect(res).toMatchObject({ status: 200, json: "FROM scratch\n" });
    expect(res.headers.get("Content-Type")).toBe("application/x-tar");
    expect((await connectorCall(token, "GET", `/jobs/${job.uuid}/source`, { lease: "nope" })).status).toBe(409);
    const other = await newConnector(["build"]);
    expect((await connectorCall(other.token, "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken })).status).toBe(
      409,
    );
    // The lease token alone opens it (docs/connector.md); a bearer sent along must be a connector's.
    const bare = await connectorCall(null, "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken });
    expect(bare).toMatchObject({ status: 200, json: "FROM scratch\n" });
    const guessed = await connectorCall(null, "GET", `/jobs/${job.uuid}/source`, { lease: "x".repeat(40) });
    expect(guessed.status).toBe(409);
    expect((await connectorCall(null, "GET", `/jobs/${job.uuid}/source`)).status).toBe(400);
    const forged = await connectorCall("wharfc_nope", "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken });
    expect(forged.status).toBe(401);
  });

  it("never renews a lease by its source download: a leaked lease token cannot hold the job", async () => {
    freezeClock();
    const { token, job, leaseToken } = await leased();
    advanceClock(50_000);
    expect((await connectorCall(null, "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken })).status).toBe(200);
    // Past the lease's 60 s (the download did not extend it), the lease no longer holds for anyone,
    // and the job is leased again.
    advanceClock(11_000);
    expect((await connectorCall(null, "GET", `/jobs/${job.uuid}/source`, { lease: leaseToken })).status).toBe(409);
    expect(
      (await connectorCall(token, "POST", `/jobs/${job.uuid}/heartbeat`, { lease: leaseToken, body: {} })).status,
    ).toBe(409);
    const again = await lease(token, ["build"]);
    expect(again.json.job).toMatchObject({ uuid: job.uuid, attempts: 2 });
  });

  it("refuses progress to a kind without progress, and names unknown jobs 404", async () => {
    unregister.push(registerHandler(recordingHandler("scan", { progress: false })));
    const { token } = await newConnector(["scan"]);
    const job = await queueJob("scan");
    const leaseToken = (await lease(token, ["scan"])).json.job.lease_token;
    expect((await call(token, `/jobs/${job.uuid}/heartbeat`, leaseToken, { phase: "building" })).status).toBe(400);
    expect((await call(token, `/jobs/${job.uuid}/heartbeat`, leaseToken, {})).status).toBe(200);
    const unknown = await call(token, `/jobs/${crypto.randomUUID()}/heartbeat`, leaseToken, {});
    expect(unknown).toMatchObject({ status: 404, json: { error: "not_found" } });
    expect((await call(token, "/jobs/not-a-uuid/heartbeat", leaseToken, {})).status).toBe(404);
    expect((await connectorCall(token, "POST", `/jobs/${job.uuid}/heartbeat`, { body: {} })).json.error).toBe(
      "invalid",
    );
  });
});
