/**
 * `POST /webhooks/push/trigger/{uuid}` (Quay's endpoints/webhooks.py): who may fire a trigger
 * (custom git's Basic `$token:<secret>`, GitHub's signature over the raw body), what a push builds
 * (exactly one build through queueBuild, with the tags the config names and Quay's trigger
 * metadata) and what it does not (`[skip build]`, a ref the regex refuses, GitHub's ping, a
 * disabled or inactive trigger, a payload that does not parse).
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { repositories, repositoryBuilds } from "../../../src/db/schema";
import { db } from "../helpers/accounts";
import { answerOf, api, createPrivateRepository, fixtureCall } from "../helpers/api";
import { request } from "../helpers/registry";
import { recordEvents } from "../helpers/events";
import {
  type Accounts,
  activeTrigger,
  basicToken,
  buildsOf,
  CUSTOM_CONFIG,
  credential,
  customPush,
  customSecret,
  deliver,
  expr,
  GITHUB_CONFIG,
  githubDeliver,
  githubPush,
  githubSignature,
  newTrigger,
  pushTo,
  triggerAccounts,
} from "./helpers";

let a: Accounts;
let n = 0;

beforeAll(async () => {
  a = await triggerAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh repository of olga's with an active trigger of `config`. */
async function setUp(config: Record<string, unknown> = CUSTOM_CONFIG, service = "custom-git", robot?: string) {
  const repository = `olga/hooked${++n}`;
  await createPrivateRepository(a.olga, "olga", repository.split("/")[1]!);
  return { repository, view: await activeTrigger(a.olga, repository, config, service, robot) };
}

describe("a custom git push", () => {
  it("queues exactly one build with Quay's tags and trigger metadata, and its build_dockerfile event", async () => {
    await fixtureCall(a.olga, "PUT", "/user/robots/builder");
    const { repository, view } = await setUp(CUSTOM_CONFIG, "custom-git", "olga+builder");
    const events = recordEvents();
    const res = await pushTo(view, customPush());
    expect(res).toMatchObject({ status: 200, json: "Okay" });
    const builds = await buildsOf(repository);
    expect(builds).toHaveLength(1);
    const [build] = builds;
    expect(build).toMatchObject({ phase: "waiting", displayName: "1c002dd", performerId: null, resourceKey: null });
    expect(build!.job).toEqual({
      docker_tags: ["master", "latest"],
      build_subdir: "",
      context: "",
      dockerfile_path: "Dockerfile",
      trigger_metadata: { ...customPush(), git_url: CUSTOM_CONFIG.build_source },
      is_manual: false,
      manual_user: null,
      archive_url: null,
    });
    expect(build!.jobs).toMatchObject([{ kind: "build", state: "queued" }]);
    expect(build!.pullRobotId).not.toBeNull();
    const [queued] = await events.published("build_dockerfile");
    expect(queued).toMatchObject({
      actor: { kind: "anonymous" },
      data: { build: build!.uuid, dockerTags: ["master", "latest"], trigger: { uuid: view.id, service: "custom-git" } },
    });
    // The pull robot, and the build in the trigger's recent builds.
    const listed = await api("GET", `/repository/${repository}/trigger/${view.id}/builds`, { token: a.olga });
    expect(listed.json.builds).toMatchObject([
      { id: build!.uuid, tags: ["master", "latest"], pull_robot: { name: "olga+builder", is_robot: true } },
    ]);
  });

  it("builds a push whose body has no commit_info, tagged with the ref's name (escaped as Quay does)", async () => {
    const { repository, view } = await setUp();
    const { commit_info: _, ...bare } = customPush({ ref: "refs/heads/feature/x#1", default_branch: "main" });
    expect((await pushTo(view, bare)).status).toBe(200);
    expect((await buildsOf(repository))[0]!.job.docker_tags).toEqual(["feature_x_1"]);
  });

  it("takes a GitHub-shaped push too, as Quay's custom trigger does, cloning its own build_source", async () => {
    const { repository, view } = await setUp();
    expect((await pushTo(view, githubPush())).status).toBe(200);
    const [build] = await buildsOf(repository);
    expect(build!.job.trigger_metadata).toMatchObject({
      commit: githubPush().after,
      ref: "refs/heads/main",
      git_url: CUSTOM_CONFIG.build_source,
    });
  });

  it("refuses a wrong secret, another user than $token, no credentials, and another trigger's secret (403)", async () => {
    const { repository, view } = await setUp();
    const other = await newTrigger(a.olga, repository);
    const body = JSON.stringify(customPush());
    const json = { "Content-Type": "application/json" };
    const refusals = [
      await deliver(view.id, body, json),
      await deliver(view.id, body, { ...json, Authorization: basicToken("wrong") }),
      await deliver(view.id, body, { ...json, Authorization: basicToken(`${customSecret(view)}x`) }),
      await deliver(view.id, body, {
        ...json,
        Authorization: `Basic ${btoa(`olga:${customSecret(view)}`)}`,
      }),
      await deliver(view.id, body, { ...json, Authorization: basicToken(customSecret(other)) }),
      await deliver(view.id, body, { ...json, Authorization: `Bearer ${a.olga}` }),
    ];
    for (const res of refusals) expect(res).toMatchObject({ status: 403, json: { error: expect.any(String) } });
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("answers 404 for an unknown trigger, and refuses an inactive one even with its secret (403)", async () => {
    const unknown = await deliver(crypto.randomUUID(), customPush(), { "Content-Type": "application/json" });
    expect(unknown).toMatchObject({ status: 404, json: { error: "Not Found" } });
    expect((await deliver("not-a-uuid", "{}")).status).toBe(404);
    await createPrivateRepository(a.olga, "olga", "idle");
    const inactive = await newTrigger(a.olga, "olga/idle");
    expect((await pushTo(inactive, customPush())).status).toBe(403);
    expect(await buildsOf("olga/idle")).toEqual([]);
  });

  it("needs Content-Type application/json and the seed's payload (Quay's jsonschema messages)", async () => {
    const { repository, view } = await setUp();
    const auth = { Authorization: basicToken(customSecret(view)) };
    const form = await deliver(view.id, JSON.stringify(customPush()), {
      ...auth,
      "Content-Type": "application/x-www-form-urlencoded",
    });
    expect(form.status).toBe(400);
    expect(form.json.error).toMatch(/application\/json/);
    const cases: [unknown, string][] = [
      ["", "Missing expected payload"],
      ["{not json", "Invalid payload: the body is not JSON"],
      [{ ref: "refs/heads/master", default_branch: "master" }, "'commit' is a required property"],
      [customPush({ commit: "zzz" }), "'zzz' does not match '^([A-Fa-f0-9]{7,})$'"],
      [customPush({ ref: "master" }), "'master' does not match '^refs/(heads|tags|remotes)/(.+)$'"],
      [customPush({ default_branch: 7 }), "7 is not of type 'string'"],
      [customPush({ commit_info: { url: "u", date: "d" } }), "'message' is a required property"],
    ];
    for (const [body, message] of cases) {
      const res = await pushTo(view, body);
      expect(res, JSON.stringify(body)).toMatchObject({ status: 400, json: { error: message } });
    }
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("skips [skip build] and [build skip] commits with Quay's 200", async () => {
    const { repository, view } = await setUp();
    for (const message of ["docs [skip build]", "[build skip] typo"]) {
      const res = await pushTo(view, customPush({ commit_info: { ...customPush().commit_info, message } }));
      expect(res).toMatchObject({ status: 200, json: "Okay" });
    }
    expect(await buildsOf(repository)).toEqual([]);
    expect(
      (await pushTo(view, customPush({ commit_info: { ...customPush().commit_info, message: "[ci skip]" } }))).status,
    ).toBe(200);
    expect(await buildsOf(repository)).toHaveLength(1);
  });

  it("builds only refs the branchtag_regex matches whole (Quay's matches_ref on `heads/…`, `tags/…`)", async () => {
    const { repository, view } = await setUp({ ...CUSTOM_CONFIG, branchtag_regex: "(heads/release-.*|tags/v[0-9]+)" });
    for (const ref of [
      "refs/heads/master",
      "refs/heads/xrelease-1",
      "refs/tags/v1x",
      "refs/tags/v2",
      "refs/heads/release-3",
    ])
      expect((await pushTo(view, customPush({ ref }))).status).toBe(200);
    expect((await buildsOf(repository)).map((b) => b.job.docker_tags)).toEqual([["v2"], ["release-3"]]);
  });

  it("names tags by the templates, beside or instead of the ref's name and latest", async () => {
    const templates = [
      expr("commit_info.short_sha"),
      `${expr("parsed_ref.branch")}-${expr("commit_info.short_sha")}`,
      expr("commit_info.author"),
      expr("commit_info.committer"),
      expr("commit_info.date"),
      `tag-${expr("parsed_ref.tag")}`,
      "fixed",
    ];
    const { repository, view } = await setUp({
      ...CUSTOM_CONFIG,
      tag_templates: templates,
      default_tag_from_ref: false,
      latest_for_default_branch: false,
    });
    await pushTo(view, customPush());
    expect((await buildsOf(repository))[0]!.job.docker_tags).toEqual([
      "1c002dd",
      "master-1c002dd",
      "olga",
      "cara",
      "2026-12-07T01_02_03Z",
      "fixed",
    ]);
  });

  it("refuses a disabled trigger with Quay's message, and builds again once enabled", async () => {
    const { repository, view } = await setUp();
    await api("PUT", `/repository/${repository}/trigger/${view.id}`, { token: a.olga, body: { enabled: false } });
    const res = await pushTo(view, customPush());
    expect(res).toMatchObject({
      status: 400,
      json: { error: "This build trigger is currently disabled. Please re-enable to continue." },
    });
    await api("PUT", `/repository/${repository}/trigger/${view.id}`, { token: a.olga, body: { enabled: true } });
    expect((await pushTo(view, customPush())).status).toBe(200);
    expect(await buildsOf(repository)).toHaveLength(1);
  });

  it("refuses a repository in read-only or mirror mode (503)", async () => {
    const { repository, view } = await setUp();
    await db().update(repositories).set({ state: "READ_ONLY" }).where(eq(repositories.name, repository));
    expect((await pushTo(view, customPush())).status).toBe(503);
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("whose ref git's check-ref-format refuses builds nothing (400)", async () => {
    const { repository, view } = await setUp();
    for (const ref of ["refs/heads/a b", "refs/heads/a\u001b[31m", "refs/heads/a..b", "refs/tags/x@{1}"]) {
      const res = await pushTo(view, customPush({ ref }));
      expect(res.status, ref).toBe(400);
    }
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("of a deleted repository awaiting its purge is an unknown trigger (404) and builds nothing", async () => {
    const { repository, view } = await setUp();
    const id = (await db().select().from(repositories).where(eq(repositories.name, repository)).get())!.id;
    expect((await api("DELETE", `/repository/${repository}`, { token: a.olga })).status).toBe(204);
    const res = await pushTo(view, customPush());
    expect(res.status).toBe(404);
    expect(await db().select().from(repositoryBuilds).where(eq(repositoryBuilds.repositoryId, id)).all()).toEqual([]);
  });
});

describe("a GitHub push", () => {
  it("whose ref is no branch or tag git would fetch builds nothing (400)", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    for (const ref of [
      "--upload-pack=touch /tmp/x",
      "refs/heads/a b",
      "refs/heads/a\u0001",
      "refs/heads/a..b",
      "main",
    ]) {
      const res = await githubDeliver(view.id, secret, githubPush({ ref }));
      expect(res.status, ref).toBe(400);
      expect(res.json, ref).toEqual({ error: expect.stringContaining(ref) });
    }
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("whose repository's ssh_url a clone would take for an option or a local path builds nothing (400)", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    for (const sshUrl of [
      "ext::sh -c touch% /tmp/pwned",
      "--upload-pack=touch /tmp/x",
      "file:///etc",
      "ssh://-oProxyCommand=x/a",
    ]) {
      const push = githubPush();
      const res = await githubDeliver(view.id, secret, {
        ...push,
        repository: { ...push.repository, ssh_url: sshUrl },
      });
      expect(res.status, sshUrl).toBe(400);
      expect(res.json, sshUrl).toEqual({ error: expect.stringMatching(/ssh_url/) });
    }
    expect(await buildsOf(repository)).toEqual([]);
  });

  it("with a valid signature queues one build from the push's ssh_url; GitHub's ping builds nothing", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    expect(await githubDeliver(view.id, secret, { zen: "Keep it simple.", hook_id: 1 }, "ping")).toMatchObject({
      status: 200,
      json: "Okay",
    });
    expect(await buildsOf(repository)).toEqual([]);
    const res = await githubDeliver(view.id, secret, githubPush());
    expect(res).toMatchObject({ status: 200, json: "Okay" });
    const builds = await buildsOf(repository);
    expect(builds).toHaveLength(1);
    expect(builds[0]!.job.docker_tags).toEqual(["main", "latest"]);
    expect(builds[0]!.job.trigger_metadata).toEqual({
      commit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
      ref: "refs/heads/main",
      default_branch: "main",
      git_url: "git@github.com:olga/app.git",
      commit_info: {
        url: "https://github.com/olga/app/commit/9f8e7d6",
        message: "Add the Dockerfile",
        date: "2026-12-07T02:03:04+00:00",
        author: { username: "olga", url: null, avatar_url: null },
        committer: { username: "web-flow", url: null, avatar_url: null },
      },
    });
    // Run by hand: the head the webhook brought.
    const run = await api("POST", `/repository/${repository}/trigger/${view.id}/start`, {
      token: a.olga,
      body: { refs: { kind: "branch", name: "main" } },
    });
    expect(run.status).toBe(201);
    expect(run.json.trigger_metadata.commit).toBe("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432");
    const fields = await api("POST", `/repository/${repository}/trigger/${view.id}/fields/refs`, { token: a.olga });
    expect(fields.json).toEqual({ values: [{ kind: "branch", name: "main" }] });
  });

  it("takes GitHub's form-encoded deliveries (its default content type) and Quay's path with the repository", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    const form = new URLSearchParams({ payload: JSON.stringify(githubPush()) }).toString();
    const res = answerOf(
      await request("POST", `/webhooks/push/${repository}/trigger/${view.id}`, {
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-GitHub-Event": "push",
          "X-Hub-Signature-256": await githubSignature(secret, form),
        },
        body: form,
      }),
    );
    expect(await res).toMatchObject({ status: 200, json: "Okay" });
    expect((await buildsOf(repository)).map((b) => b.job.docker_tags)).toEqual([["main", "latest"]]);
  });

  it("refuses a missing or wrong signature, and a good body replayed with a wrong one (403)", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    const body = githubPush();
    const good = await githubDeliver(view.id, secret, body);
    expect(good.status).toBe(200);
    const text = JSON.stringify(body);
    const headers = { "Content-Type": "application/json", "X-GitHub-Event": "push" };
    const wrong = await githubDeliver(view.id, "not-the-secret", body);
    const none = await deliver(view.id, text, headers);
    const flipped = await deliver(view.id, text, { ...headers, "X-Hub-Signature-256": `sha256=${"0".repeat(64)}` });
    const sha1 = await deliver(view.id, text, { ...headers, "X-Hub-Signature": "sha1=0000" });
    // The good delivery's signature over a changed body.
    const replay = await deliver(view.id, JSON.stringify({ ...body, ref: "refs/heads/evil" }), {
      ...headers,
      "X-Hub-Signature-256": await githubSignature(secret, text),
    });
    for (const res of [wrong, none, flipped, sha1, replay]) expect(res.status).toBe(403);
    expect((await buildsOf(repository)).map((b) => b.job.trigger_metadata.ref)).toEqual(["refs/heads/main"]);
  });

  it("answers a signed ping before activation (the hook is made by hand), but no push", async () => {
    await createPrivateRepository(a.olga, "olga", "early");
    const view = await newTrigger(a.olga, "olga/early", "github");
    const secret = credential(view, "Webhook Secret")!;
    expect((await githubDeliver(view.id, secret, { zen: "Design for failure." }, "ping")).status).toBe(200);
    expect((await githubDeliver(view.id, "wrong", { zen: "x" }, "ping")).status).toBe(403);
    expect((await githubDeliver(view.id, secret, githubPush())).status).toBe(403);
    expect(await buildsOf("olga/early")).toEqual([]);
  });

  it("builds nothing for a deleted branch (no head commit) nor for other events", async () => {
    const { repository, view } = await setUp(GITHUB_CONFIG, "github");
    const secret = credential(view, "Webhook Secret")!;
    expect((await githubDeliver(view.id, secret, githubPush({ head_commit: null, deleted: true }))).status).toBe(200);
    expect((await githubDeliver(view.id, secret, { action: "opened" }, "pull_request")).status).toBe(200);
    expect((await githubDeliver(view.id, secret, { ref: "refs/heads/main" })).status).toBe(400);
    expect(await buildsOf(repository)).toEqual([]);
  });
});
