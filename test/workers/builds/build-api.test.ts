/**
 * Quay's build API (endpoints/api/build.py): requesting a build (its checks and messages), listing,
 * one build, its status and logs, cancelling; the superuser's build views.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { buildLogEntries, repositoryBuilds } from "../../../src/db/schema";
import { db, tokenFor } from "../helpers/accounts";
import { api, createPrivateRepository, expectQuayError, fixtureCall } from "../helpers/api";
import { requestWith } from "../helpers/mailbox";
import { type BuildAccounts, buildJob, makeBuildAccounts, REPO, requestArchiveBuild } from "../helpers/builds";

let a: BuildAccounts;

beforeAll(async () => {
  a = await makeBuildAccounts();
});

describe("POST /repository/{repository}/build/", () => {
  it("queues a build from an archive URL: Quay's view, 201 with Location, its job queued", async () => {
    const res = await requestArchiveBuild(a.will, { docker_tags: ["v1", "latest"], subdirectory: "web" });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({
      phase: "waiting",
      display_name: expect.stringMatching(/^[0-9a-f]{7}$/),
      status: {},
      subdirectory: "/web/Dockerfile",
      dockerfile_path: "/web/Dockerfile",
      context: "/web",
      tags: ["v1", "latest"],
      manual_user: "will",
      is_writer: true,
      trigger: null,
      trigger_metadata: {},
      resource_key: null,
      pull_robot: null,
      repository: { namespace: "buildco", name: "app" },
      archive_url: "https://example.com/context.tar.gz",
      error: null,
    });
    expect(res.json.started).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/);
    expect(res.headers.get("Location")).toBe(
      `http://registry.test/api/v1/repository/${REPO}/build/${res.json.id}/status`,
    );
    expect((await buildJob(res.json.id))?.state).toBe("queued");
  });

  it("names a URL's build by Quay's SHA-224 of the URL, 7 digits", async () => {
    // sha224("https://example.com/context.tar.gz"), computed independently.
    const res = await requestArchiveBuild(a.will);
    expect(res.json.display_name).toBe(await sha224Prefix("https://example.com/context.tar.gz"));
    expect(res.json.tags).toEqual(["latest"]);
  });

  it("refuses what Quay refuses, with its messages", async () => {
    expectQuayError(
      await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: {} }),
      400,
      "invalid_request",
      "file_id or archive_url required",
    );
    expectQuayError(
      await requestArchiveBuild(a.will, { archive_url: "ftp://example.com/x.tgz" }),
      400,
      "invalid_request",
      "Invalid Archive URL: Must be http or https",
    );
    expectQuayError(
      await requestArchiveBuild(a.will, { archive_url: "not a url" }),
      400,
      "invalid_request",
      "Invalid Archive URL: Must be a valid URI",
    );
    expectQuayError(
      await requestArchiveBuild(a.will, { docker_tags: ["bad tag!"] }),
      400,
      "invalid_request",
      "Invalid tag: bad tag!",
    );
    expectQuayError(await requestArchiveBuild(a.will, { docker_tags: [] }), 400, "invalid_request");
    expectQuayError(await requestArchiveBuild(a.will, { docker_tags: ["a", "a"] }), 400, "invalid_request");
    expectQuayError(
      await requestArchiveBuild(a.will, { dockerfile_path: "../../etc/Dockerfile" }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("POST", `/repository/${REPO}/build/`, { token: a.will, body: { file_id: "no-such-file" } }),
      400,
      "invalid_request",
      "File no-such-file could not be found or is invalid",
    );
  });

  it("refuses archive URLs that name the edge's neighbours: loopback, private, link-local, .internal", async () => {
    for (const url of [
      "http://127.0.0.1/x.tgz",
      "http://localhost:8080/x.tgz",
      "https://10.1.2.3/x.tgz",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/x.tgz",
      "http://metadata.internal/x",
    ]) {
      const res = await requestArchiveBuild(a.will, { archive_url: url });
      expectQuayError(res, 400, "invalid_request", /^Invalid Archive URL: /);
    }
  });

  it("guards the pull robot: it must exist, and the requester must administer its namespace", async () => {
    // will writes the repository but does not administer buildco: Quay's 403.
    expectQuayError(await requestArchiveBuild(a.will, { pull_robot: "buildco+puller" }), 403, "insufficient_scope");
    // Not a robot's name at all: 403 too (Quay's `Unauthorized()`).
    expectQuayError(await requestArchiveBuild(a.bob, { pull_robot: "rita" }), 403, "insufficient_scope");
    expectQuayError(await requestArchiveBuild(a.bob, { pull_robot: "buildco+nobody" }), 404, "not_found");
    // Another namespace's robot: otto's own, which bob does not administer.
    await fixtureCall(a.otto, "PUT", "/user/robots/mine", {});
    expectQuayError(await requestArchiveBuild(a.bob, { pull_robot: "otto+mine" }), 403, "insufficient_scope");
    // The organization's admin through a token without org:admin: Quay's 403 (the seeds' note).
    const narrow = await tokenFor("bob", ["repo:read", "repo:write"]);
    expectQuayError(await requestArchiveBuild(narrow, { pull_robot: "buildco+puller" }), 403, "insufficient_scope");
    const ok = await requestArchiveBuild(a.bob, { pull_robot: "buildco+puller" });
    expect(ok.status).toBe(201);
    expect(ok.json.pull_robot).toEqual({ name: "buildco+puller", kind: "user", is_robot: true });
  });

  it("refuses readers (403), strangers (403 whether or not the repository exists), anonymous callers (401)", async () => {
    expectQuayError(await requestArchiveBuild(a.rita), 403, "insufficient_scope");
    expectQuayError(await requestArchiveBuild(a.otto), 403, "insufficient_scope");
    expectQuayError(await requestArchiveBuild(a.otto, {}, "buildco/none"), 403, "insufficient_scope");
    expectQuayError(
      await api("POST", `/repository/${REPO}/build/`, { body: { archive_url: "https://example.com/x" } }),
      401,
      "invalid_token",
    );
  });

  it("without FEATURE_BUILD_SUPPORT: no build is requested, no file dropped (404); reads go on", async () => {
    const off = { ...env, FEATURE_BUILD_SUPPORT: "false" } as unknown as Env;
    const body = { archive_url: "https://example.com/x.tgz" };
    expectQuayError(
      await requestWith(off, "POST", `/api/v1/repository/${REPO}/build/`, { token: a.will, body }),
      404,
      "not_found",
    );
    expectQuayError(
      await requestWith(off, "POST", "/api/v1/filedrop/", { token: a.will, body: { mimeType: "text/plain" } }),
      404,
      "not_found",
    );
    expect((await requestWith(off, "GET", `/api/v1/repository/${REPO}/build/`, { token: a.will })).status).toBe(200);
  });

  it("refuses a repository that is not NORMAL (503, Quay's message)", async () => {
    await createPrivateRepository(a.bob, "buildco", "frozen");
    await fixtureCall(a.bob, "PUT", "/repository/buildco/frozen/changestate", { state: "READ_ONLY" });
    const res = await requestArchiveBuild(a.bob, {}, "buildco/frozen");
    expect(res.status).toBe(503);
    expect(JSON.stringify(res.json)).toContain("Repository is in read only or mirror mode: READ_ONLY");
  });
});

describe("reading builds", () => {
  it("lists newest first with limit and since; reads one build and its status", async () => {
    await createPrivateRepository(a.bob, "buildco", "listed");
    const first = await requestArchiveBuild(a.bob, { docker_tags: ["one"] }, "buildco/listed");
    const second = await requestArchiveBuild(a.bob, { docker_tags: ["two"] }, "buildco/listed");
    await db()
      .update(repositoryBuilds)
      .set({ startedAt: Date.now() - 3_600_000 })
      .where(eq(repositoryBuilds.uuid, first.json.id));
    const all = await api("GET", "/repository/buildco/listed/build/", { token: a.bob });
    expect(all.json.builds.map((b: { id: string }) => b.id)).toEqual([second.json.id, first.json.id]);
    const one = await api("GET", "/repository/buildco/listed/build/?limit=1", { token: a.bob });
    expect(one.json.builds).toHaveLength(1);
    const since = Math.floor((Date.now() - 60_000) / 1000);
    const recent = await api("GET", `/repository/buildco/listed/build/?since=${since}`, { token: a.bob });
    expect(recent.json.builds.map((b: { id: string }) => b.id)).toEqual([second.json.id]);
    const got = await api("GET", `/repository/buildco/listed/build/${first.json.id}`, { token: a.bob });
    expect(got.json).toMatchObject({ id: first.json.id, tags: ["one"] });
    const status = await api("GET", `/repository/buildco/listed/build/${first.json.id}/status`, { token: a.bob });
    expect(status.json).toEqual(got.json);
    // Another repository's build is not found here.
    expectQuayError(await api("GET", `/repository/${REPO}/build/${first.json.id}`, { token: a.bob }), 404, "not_found");
  });

  it("shows a reader the build but not the archive URL; hides the private repository from strangers (404)", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const seen = await api("GET", `/repository/${REPO}/build/${build.id}`, { token: a.rita });
    expect(seen.status).toBe(200);
    expect(seen.json.is_writer).toBe(false);
    expect(seen.json).not.toHaveProperty("archive_url");
    for (const path of ["", "/status"])
      expectQuayError(
        await api("GET", `/repository/${REPO}/build/${build.id}${path}`, { token: a.otto }),
        404,
        "not_found",
      );
    // The logs need the write role: 403, as for a repository that does not exist.
    for (const repo of [REPO, "buildco/none"])
      expectQuayError(
        await api("GET", `/repository/${repo}/build/${build.id}/logs`, { token: a.otto }),
        403,
        "insufficient_scope",
      );
    expectQuayError(await api("GET", `/repository/${REPO}/build/`, {}), 404, "not_found");
  });

  it("serves logs from `start` to writers; readers without FEATURE_READER_BUILD_LOGS get 403", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const row = await db().select().from(repositoryBuilds).where(eq(repositoryBuilds.uuid, build.id)).get();
    await db()
      .insert(buildLogEntries)
      .values(["a", "b", "c"].map((message, seq) => ({ buildId: row!.id, seq, entry: JSON.stringify({ message }) })));
    const logs = await api("GET", `/repository/${REPO}/build/${build.id}/logs?start=1`, { token: a.will });
    expect(logs.json).toEqual({ start: 1, total: 3, logs: [{ message: "b" }, { message: "c" }] });
    expectQuayError(
      await api("GET", `/repository/${REPO}/build/${build.id}/logs`, { token: a.rita }),
      403,
      "insufficient_scope",
    );
  });
});

describe("DELETE /repository/{repository}/build/{uuid}", () => {
  it("cancels a queued build at once, with its job; a second cancel is Quay's 400", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const res = await api("DELETE", `/repository/${REPO}/build/${build.id}`, { token: a.bob });
    expect(res.status).toBe(201);
    expect(res.json).toBe("Okay");
    expect((await api("GET", `/repository/${REPO}/build/${build.id}`, { token: a.bob })).json.phase).toBe("cancelled");
    expect((await buildJob(build.id))?.state).toBe("cancelled");
    expectQuayError(
      await api("DELETE", `/repository/${REPO}/build/${build.id}`, { token: a.bob }),
      400,
      "invalid_request",
      "Build is currently running or has finished",
    );
  });

  it("does not cancel a build that is pushing; refuses writers (403) and unknown builds (404)", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    expectQuayError(
      await api("DELETE", `/repository/${REPO}/build/${build.id}`, { token: a.will }),
      403,
      "insufficient_scope",
    );
    await db().update(repositoryBuilds).set({ phase: "pushing" }).where(eq(repositoryBuilds.uuid, build.id));
    expectQuayError(
      await api("DELETE", `/repository/${REPO}/build/${build.id}`, { token: a.bob }),
      400,
      "invalid_request",
    );
    expect((await buildJob(build.id))?.state).toBe("queued");
    expectQuayError(await api("DELETE", `/repository/${REPO}/build/nope`, { token: a.bob }), 404, "not_found");
  });
});

describe("the superuser's build views", () => {
  it("reads any build by uuid; others get 403", async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    for (const suffix of ["build", "status"]) {
      const res = await api("GET", `/superuser/${build.id}/${suffix}`, { token: a.admin });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ id: build.id, repository: { namespace: "buildco", name: "app" } });
    }
    expect((await api("GET", `/superuser/${build.id}/logs`, { token: a.admin })).json).toEqual({
      start: 0,
      total: 0,
      logs: [],
    });
    expectQuayError(await api("GET", "/superuser/no-such-build/build", { token: a.admin }), 404, "not_found");
    expectQuayError(await api("GET", `/superuser/${build.id}/build`, { token: a.bob }), 403, "insufficient_scope");
  });
});

async function sha224Prefix(text: string): Promise<string> {
  const { sha224Hex } = await import("../../../src/builds/request");
  // The known answer of FIPS 180-4's example holds the implementation to the standard.
  expect(sha224Hex("abc")).toBe("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  return sha224Hex(text).slice(0, 7);
}
