/**
 * The `$build` credential (src/builds/build-credential.ts) at the Docker token endpoint: push and
 * pull on the build's repository only, pull on what its pull robot may pull; refused once the
 * build ends, is cancelled or its job is leased again; a push with it is the builder's.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { buildJobHandler } from "../../../src/builds/build-job";
import { basic, grantedActions, grantedActionsOrStatus, pushImageWith, v2Token } from "../helpers/accounts";
import { api, createPrivateRepository, fixtureCall } from "../helpers/api";
import {
  type BuildAccounts,
  jobContext,
  buildJob,
  makeBuildAccounts,
  REPO,
  requestArchiveBuild,
} from "../helpers/builds";
import { recordEvents } from "../helpers/events";

let a: BuildAccounts;

beforeAll(async () => {
  a = await makeBuildAccounts();
  // A private repository the pull robot may read, and one it may not.
  await createPrivateRepository(a.bob, "buildco", "base");
  await createPrivateRepository(a.bob, "buildco", "secret");
  await fixtureCall(a.bob, "PUT", "/repository/buildco/base/permissions/user/buildco+puller", { role: "read" });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A build of `REPO` leased and described: its `$build` credentials as Basic. */
async function startedBuild(body: Record<string, unknown> = {}) {
  const build = (await requestArchiveBuild(a.bob, body)).json;
  const job = await leaseOpenJob("build", build.id);
  const described = (await buildJobHandler.describe(job, jobContext())) as {
    build: { credentials: { username: string; password: string } };
  };
  const { username, password } = described.build.credentials;
  return { build, job, password, authorization: basic(username, password) };
}

describe("the $build credential", () => {
  it("grants push and pull on the build's repository, pull where its pull robot may pull, nothing else", async () => {
    const { authorization } = await startedBuild({ pull_robot: "buildco+puller" });
    expect((await grantedActions(authorization, REPO)).sort()).toEqual(["pull", "push"]);
    expect(await grantedActions(authorization, "buildco/base")).toEqual(["pull"]);
    expect(await grantedActions(authorization, "buildco/secret")).toEqual([]);
    expect(await grantedActions(authorization, "otto/anything")).toEqual([]);
  });

  it("without a pull robot, pulls nothing private beyond its own repository", async () => {
    const { authorization } = await startedBuild();
    expect(await grantedActions(authorization, "buildco/base")).toEqual([]);
  });

  it("pushes as the builder: the push's event names the system actor `builder`", async () => {
    const { authorization } = await startedBuild();
    const { token } = await v2Token(authorization, `repository:${REPO}:pull,push`);
    const events = recordEvents();
    const res = await pushImageWith(token, REPO, "built");
    expect(res.status).toBe(201);
    const pushes = await events.published("push_repo");
    expect(pushes.at(-1)?.actor).toEqual({ kind: "system", name: "builder" });
  });

  it("is refused once the build completed, and a registry token minted before stops pushing", async () => {
    const { job, authorization } = await startedBuild();
    const { token } = await v2Token(authorization, `repository:${REPO}:pull,push`);
    await buildJobHandler.complete(job, { manifest_digests: [] }, jobContext());
    expect(await grantedActionsOrStatus(authorization, REPO)).toBe(401);
    expect((await pushImageWith(token, REPO, "late")).status).toBe(403);
  });

  it("is refused once the build is cancelled, and once its job is leased again (the old lease's credential)", async () => {
    const cancelled = await startedBuild();
    expect((await api("DELETE", `/repository/${REPO}/build/${cancelled.build.id}`, { token: a.bob })).status).toBe(201);
    expect(await grantedActionsOrStatus(cancelled.authorization, REPO)).toBe(401);
    // The running build's job was closed in the cancel's batch, its lease token kept for the queue.
    expect(await buildJob(cancelled.build.id)).toMatchObject({
      state: "cancelled",
      leaseToken: cancelled.job.leaseToken,
    });

    const relet = await startedBuild();
    await leaseOpenJob("build", relet.build.id);
    expect(await grantedActionsOrStatus(relet.authorization, REPO)).toBe(401);
  });

  it("is refused when forged: another build's uuid under the same MAC, a changed expiry, a wrong username", async () => {
    const { password, build } = await startedBuild();
    const other = (await requestArchiveBuild(a.bob)).json;
    await leaseOpenJob("build", other.id);
    const [, attempt, expires, mac] = password.split(".");
    expect(await grantedActionsOrStatus(basic("$build", `${other.id}.${attempt}.${expires}.${mac}`), REPO)).toBe(401);
    expect(
      await grantedActionsOrStatus(basic("$build", `${build.id}.${attempt}.${Number(expires) + 60}.${mac}`), REPO),
    ).toBe(401);
    expect(await grantedActionsOrStatus(basic("bob", password), REPO)).toBe(401);
  });
});
