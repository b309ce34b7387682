/**
 * The `$build` credential and the build job through the real queue (`/connector/v1/lease`): the
 * credential is bound to the one lease it was handed with (a superuser deleting a connector gives
 * its jobs back without counting the lease, so the next lease has the same attempt number: the
 * deleted connector's credential must not come back to life), and to its repository's one name.
 * A build of a repository deleted before or while a connector runs it is not handed out, or is
 * stopped.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { repositoryBuilds } from "../../../src/db/schema";
import { deleteConnector } from "../../../src/connector/connectors";
import { basic, db, grantedActionsOrStatus, pushImageWith, v2Token } from "../helpers/accounts";
import { api, createPrivateRepository } from "../helpers/api";
import { type BuildAccounts, buildJob, makeBuildAccounts, REPO, requestArchiveBuild } from "../helpers/builds";
import { connectorCall, lease, newConnector } from "../helpers/connectors";
import { fixtureEvents, recordEvents } from "../helpers/events";

let a: BuildAccounts;

beforeAll(async () => {
  a = await makeBuildAccounts();
});

type Leased = {
  job: { attempts: number; build: { uuid: string; credentials: { username: string; password: string } } };
};

describe("the $build credential of a deleted connector's lease", () => {
  it("opens nothing once the job is leased again under the same attempt number", async () => {
    const build = (await requestArchiveBuild(a.bob)).json;
    const first = await newConnector(["build"]);
    const leasedFirst = (await lease(first.token, ["build"])).json as Leased;
    expect(leasedFirst.job.build.uuid).toBe(build.id);
    const { username, password } = leasedFirst.job.build.credentials;
    const stolen = basic(username, password);
    const { token: stolenToken } = await v2Token(stolen, `repository:${REPO}:pull,push`);

    await deleteConnector(db(), first.connector, fixtureEvents());
    expect(await grantedActionsOrStatus(stolen, REPO)).toBe(401);

    const second = await newConnector(["build"]);
    const leasedSecond = (await lease(second.token, ["build"])).json as Leased;
    expect(leasedSecond.job).toMatchObject({ build: { uuid: build.id }, attempts: leasedFirst.job.attempts });

    // The new lease's credential works; the deleted connector's does not, nor its registry token.
    const fresh = leasedSecond.job.build.credentials;
    expect(await grantedActionsOrStatus(basic(fresh.username, fresh.password), REPO)).toEqual(["pull", "push"]);
    expect(await grantedActionsOrStatus(stolen, REPO)).toBe(401);
    expect((await pushImageWith(stolenToken, REPO, "hijacked")).status).toBe(403);
  });
});

describe("a build whose repository was deleted before a connector leased it", () => {
  it("is not handed out: no source, deploy key or push credential for a tombstone", async () => {
    await createPrivateRepository(a.bob, "buildco", "doomed");
    const build = (await requestArchiveBuild(a.bob, {}, "buildco/doomed")).json;
    expect((await api("DELETE", "/repository/buildco/doomed", { token: a.bob })).status).toBe(204);
    const connector = await newConnector(["build"]);
    const leased = await lease(connector.token, ["build"]);
    expect(leased.status, JSON.stringify(leased.json)).toBe(204);
    expect(await buildJob(build.id)).toMatchObject({ state: "cancelled" });
  });
});

describe("the $build credential against names spelt another way", () => {
  it("grants push on its repository's one name only: not another case, a slash, dots or library/", async () => {
    const build = (await requestArchiveBuild(a.bob)).json;
    const connector = await newConnector(["build"]);
    let leased = (await lease(connector.token, ["build"])).json as Leased;
    // Earlier tests' builds may still be queued: lease until this one comes.
    while (leased.job.build.uuid !== build.id) leased = (await lease(connector.token, ["build"])).json as Leased;
    const { username, password } = leased.job.build.credentials;
    const authorization = basic(username, password);
    expect(await grantedActionsOrStatus(authorization, REPO)).toEqual(["pull", "push"]);
    for (const name of [
      "BuildCo/App",
      "buildco/app/",
      "buildco//app",
      "buildco/./app",
      "buildco/x/../app",
      "library/buildco/app",
      "buildco/app%00",
    ]) {
      const granted = await grantedActionsOrStatus(authorization, name);
      expect(Array.isArray(granted) ? granted : [], name).not.toContain("push");
    }
  });
});

describe("a build whose repository is deleted while a connector runs it", () => {
  it("is stopped: heartbeat and completion answer 409 cancelled, no phase, log or build event is written", async () => {
    await createPrivateRepository(a.bob, "buildco", "doomed2");
    const build = (await requestArchiveBuild(a.bob, {}, "buildco/doomed2")).json;
    const connector = await newConnector(["build"]);
    let leased = (await lease(connector.token, ["build"])).json as Leased & {
      job: { uuid: string; lease_token: string };
    };
    while (leased.job.build.uuid !== build.id) leased = (await lease(connector.token, ["build"])).json as typeof leased;
    expect((await api("DELETE", "/repository/buildco/doomed2", { token: a.bob })).status).toBe(204);
    const events = recordEvents();
    const calls = { lease: leased.job.lease_token };
    const beat = await connectorCall(connector.token, "POST", `/jobs/${leased.job.uuid}/heartbeat`, {
      ...calls,
      body: { phase: "building", logs: [{ message: "step 1" }] },
    });
    expect(beat).toMatchObject({ status: 409, json: { error: "lease_lost", cancelled: true } });
    const done = await connectorCall(connector.token, "POST", `/jobs/${leased.job.uuid}/complete`, {
      ...calls,
      body: { manifest_digests: [] },
    });
    expect(done.status).toBe(409);
    const row = await db().select().from(repositoryBuilds).where(eq(repositoryBuilds.uuid, build.id)).get();
    expect(row).toMatchObject({ phase: "build-scheduled", logCount: 1 });
    expect(await buildJob(build.id)).toMatchObject({ state: "cancelled" });
    expect(await events.published("build_succeeded")).toEqual([]);
  });
});

describe("another connector holding a build's lease token", () => {
  it("can neither heartbeat, complete, fail nor download it (409), even a scan-only one; the lease stays", async () => {
    const build = (await requestArchiveBuild(a.bob)).json;
    const holder = await newConnector(["build"]);
    let leased = (await lease(holder.token, ["build"])).json as Leased & { job: { uuid: string; lease_token: string } };
    while (leased.job.build.uuid !== build.id) leased = (await lease(holder.token, ["build"])).json as typeof leased;
    for (const kinds of [["build"], ["scan"]] as const) {
      const thief = await newConnector([...kinds]);
      const path = `/jobs/${leased.job.uuid}`;
      const lease_ = { lease: leased.job.lease_token };
      for (const [method, call, body] of [
        ["POST", "heartbeat", { phase: "pushing" }],
        ["POST", "complete", { manifest_digests: [] }],
        ["POST", "fail", { error: "x", retry: false }],
        ["GET", "source", undefined],
      ] as const) {
        const res = await connectorCall(thief.token, method, `${path}/${call}`, { ...lease_, body });
        expect(res.status, `${kinds} ${call}`).toBe(409);
      }
    }
    expect(await buildJob(build.id)).toMatchObject({ state: "leased", leaseToken: leased.job.lease_token });
  });
});
