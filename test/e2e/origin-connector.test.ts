/**
 * Issue #18's acceptance, builds: against `npm start` and the real connector (`npm run connector`).
 * A superuser creates a connector; an organization repository gets a custom git trigger whose
 * build source is a loopback git server and webhooks for build_queued, build_start and
 * build_success; a `git push` of a `FROM scratch` + `COPY` context to that server runs the
 * post-receive hook, which POSTs the commit to the trigger's webhook URL (as the seed's chapter 8
 * has it); the connector clones, builds with buildah and pushes; the build shows `complete` with
 * its logs, the three notifications arrive with Quay's payload fields, and podman pulls the image.
 * Then, with the same connector: an uploaded Dockerfile (the filedrop) built; a failing build
 * (`error`, its log, build_failure); a private base of another repository pulled only through the
 * build's pull robot; the trigger run by hand at a commit.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, Podman, registryHost, run } from "./helpers/clients";
import type { ConnectorProcess } from "./helpers/connector-process";
import { GitServer, scratchContext } from "./helpers/git-server";
import {
  createConnector,
  startConnector,
  subscribe,
  until,
  WebhookReceiver,
  waitForBuild,
} from "./helpers/origin-connector";
import { type RunningServer, startWharf } from "./helpers/server";

const runId = randomBytes(3).toString("hex");
const org = `builders${runId}`;
const repository = `${org}/app`;
let server: RunningServer;
let receiver: WebhookReceiver;
let git: GitServer;
let connector: ConnectorProcess | undefined;
let tmp: string;
/** The first test's trigger and the commit it built. */
let first: { trigger: string; commit: string } | undefined;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(server.url, server.adminToken, method, pathname, body);

/** The post-receive hook of the seed's chapter 8: the pushed commit, POSTed to the trigger's webhook. */
const HOOK = `#!/bin/sh
while read old new ref; do
  message=$(git log -1 --format=%s "$new")
  payload=$(jq -cn --arg c "$new" --arg r "$ref" --arg m "$message" --arg d "$(git log -1 --format=%cI "$new")" \\
    '{commit: $c, ref: $r, default_branch: "main", commit_info: {url: "https://git.example/c", message: $m, date: $d}}')
  curl -sS -f -H 'Content-Type: application/json' --data "$payload" "$(cat "$GIT_DIR/webhook-url")" >&2 || exit 1
done
`;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  server = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: receiver.hostPort } });
  git = await GitServer.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-origin-connector-"));
  await api("POST", "/organization/", { name: org, email: `${org}@example.com` });
  await api("POST", "/repository", { namespace: org, repository: "app", visibility: "private", description: "" });
}, 180_000);

afterAll(async () => {
  await connector?.kill();
  await git?.stop();
  await receiver?.stop();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("builds by the origin connector", () => {
  it("builds a pushed commit with buildah, shows it complete with its logs, notifies, and podman pulls it", async () => {
    const made = await createConnector(server.url, server.adminToken, `builder-${runId}`, ["build"]);
    expect(made.token).toMatch(/^wharfc_/);
    connector = startConnector(server.url, made.token, path.join(tmp, "work"));
    await connector.waitForOutput(/builder buildah/);
    await subscribe(server.url, server.adminToken, repository, receiver, [
      "build_queued",
      "build_start",
      "build_success",
    ]);

    // The repository on the git server, then the trigger pointing at it.
    const marker = `built-${runId}`;
    await git.createRepository("app", { "README.md": "the app\n" });
    const trigger = await api("POST", `/repository/${repository}/trigger/`, { service: "custom-git" });
    const view = await api("POST", `/repository/${repository}/trigger/${trigger.id}/activate`, {
      config: { build_source: git.url("app"), context: "/" },
    });
    const webhook = view.config.credentials.find((c: { name: string }) => c.name === "Webhook Endpoint URL").value;
    const bare = path.join(git.root, "repos", "app.git");
    await writeFile(path.join(bare, "webhook-url"), webhook);
    await writeFile(path.join(bare, "hooks", "post-receive"), HOOK);
    await chmod(path.join(bare, "hooks", "post-receive"), 0o755);

    const commit = await git.commit("app", scratchContext(marker), "Build the app");
    const { builds } = await api("GET", `/repository/${repository}/trigger/${trigger.id}/builds`);
    expect(builds).toHaveLength(1);
    const uuid = builds[0].id;
    expect(builds[0]).toMatchObject({ phase: "waiting", tags: ["main", "latest"], trigger_metadata: { commit } });

    first = { trigger: trigger.id, commit };
    const done = await waitForBuild(server.url, server.adminToken, repository, uuid, 180_000, connector);
    expect(done, connector.output().slice(-3000)).toMatchObject({
      phase: "complete",
      id: uuid,
      repository: { namespace: org, name: "app" },
      trigger: { id: trigger.id, service: "custom-git" },
    });
    // The clone came from the loopback git server, at the pushed commit.
    expect(git.requests.some((r) => r.startsWith("/app.git/info/refs?service=git-upload-pack"))).toBe(true);

    const host = registryHost(server.url);
    const logs = await api("GET", `/repository/${repository}/build/${uuid}/logs`);
    const messages = logs.logs.map((entry: { message: string }) => entry.message).join("\n");
    expect(logs.total).toBe(logs.logs.length);
    const typed = (type: string) =>
      logs.logs.filter((e: { type?: string }) => e.type === type).map((e: { message: string }) => e.message);
    expect(typed("command")).toEqual(["STEP 1/2: FROM scratch", "STEP 2/2: COPY hello.txt /hello.txt"]);
    expect(typed("phase")).toEqual([`build scheduled on connector builder-${runId}`, "build complete"]);
    expect(messages).toContain(`Cloning ${git.url("app")} at ${commit}`);
    expect(messages).toContain(`Pushing ${host}/${repository}:latest`);

    // The three notifications, in order, with Quay's payload fields (seed 000 §12.1.2-12.1.4).
    const [queued] = await receiver.waitFor("/build_queued");
    const [started] = await receiver.waitFor("/build_start");
    const [succeeded] = await receiver.waitFor("/build_success");
    const common = {
      build_id: uuid,
      trigger_kind: "custom-git",
      trigger_id: trigger.id,
      name: "app",
      repository,
      namespace: org,
      docker_url: `${host}/${repository}`,
      docker_tags: ["main", "latest"],
      trigger_metadata: expect.objectContaining({ commit, ref: "refs/heads/main", default_branch: "main" }),
      homepage: `${server.url}/repository/${repository}/build/${uuid}`,
    };
    expect(queued!.body).toMatchObject({ ...common, repo: "app", is_manual: false, manual_user: null });
    expect(started!.body).toMatchObject({ ...common, build_name: commit.slice(0, 7) });
    expect(succeeded!.body).toMatchObject({
      ...common,
      build_name: commit.slice(0, 7),
      image_id: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
    });
    expect(queued!.at).toBeLessThanOrEqual(started!.at);
    expect(started!.at).toBeLessThanOrEqual(succeeded!.at);

    // The image pulls with podman, and holds the committed file.
    const podman = await Podman.create();
    try {
      await login(host, await server.credentialsFor("admin"), path.join(tmp, "auth.json"));
      const ref = `${host}/${repository}:main`;
      const id = await podman.pull(ref);
      expect(`sha256:${id}`).toBe(succeeded!.body.image_id);
      const out = path.join(tmp, "pulled");
      await podman.run(["save", "--format", "oci-dir", "-o", out, ref]);
      const index = JSON.parse(await run("cat", [path.join(out, "index.json")]).then((r) => r.stdout.toString()));
      const manifestFile = path.join(out, "blobs", ...index.manifests[0].digest.split(":"));
      const manifest = JSON.parse((await run("cat", [manifestFile])).stdout.toString());
      const layer = path.join(out, "blobs", ...manifest.layers[0].digest.split(":"));
      const text = (await run("tar", ["-xOf", layer, "hello.txt"])).stdout.toString();
      expect(text).toBe(`${marker}\n`);
    } finally {
      await podman.dispose();
    }

    // The superuser's connector list shows it connected and holding nothing now.
    await until(
      async () => {
        const { connectors } = await api("GET", "/superuser/connectors");
        const mine = connectors.find((c: { uuid: string }) => c.uuid === made.uuid);
        return mine?.leased_jobs === 0 && mine.last_seen !== null;
      },
      "the connector to hold no job",
      30_000,
    );
  }, 240_000);
  it("builds an uploaded Dockerfile (the filedrop, as Start New Build sends it) to complete", async () => {
    expect(connector, "the first test started the connector").toBeDefined();
    const { url, file_id } = await api("POST", "/filedrop/", { mimeType: "application/octet-stream" });
    // A lone Dockerfile: its context is empty, so the image is one label on scratch's nothing.
    const dockerfile = `FROM scratch\nLABEL built-from=upload-${runId}\n`;
    const put = await fetch(url, { method: "PUT", body: dockerfile });
    expect(put.status).toBeLessThan(300);
    const queued = await api("POST", `/repository/${repository}/build/`, { file_id, docker_tags: ["uploaded"] });
    const done = await waitForBuild(server.url, server.adminToken, repository, queued.id, 120_000, connector);
    expect(done.phase, connector!.output().slice(-3000)).toBe("complete");
    const tags = await api("GET", `/repository/${repository}/tag/?specificTag=uploaded`);
    expect(tags.tags).toHaveLength(1);
    const labels = await api("GET", `/repository/${repository}/manifest/${tags.tags[0].manifest_digest}/labels`);
    expect(labels.labels).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: "built-from", value: `upload-${runId}` })]),
    );
  }, 180_000);
  it("fails a build whose Dockerfile copies a missing file: error, its log, and build_failure", async () => {
    await subscribe(server.url, server.adminToken, repository, receiver, ["build_failure"]);
    const { url, file_id } = await api("POST", "/filedrop/", { mimeType: "application/octet-stream" });
    expect((await fetch(url, { method: "PUT", body: "FROM scratch\nCOPY missing.txt /\n" })).status).toBeLessThan(300);
    const queued = await api("POST", `/repository/${repository}/build/`, { file_id, docker_tags: ["broken"] });
    const done = await waitForBuild(server.url, server.adminToken, repository, queued.id, 120_000, connector);
    expect(done.phase, connector!.output().slice(-3000)).toBe("error");
    expect(done.error).toMatch(/missing\.txt/);
    const logs = await api("GET", `/repository/${repository}/build/${queued.id}/logs`);
    expect(logs.logs.some((e: { type?: string; message: string }) => e.type === "error")).toBe(true);
    const [failure] = await receiver.waitFor("/build_failure");
    expect(failure!.body).toMatchObject({
      build_id: queued.id,
      repository,
      docker_tags: ["broken"],
      error_message: expect.stringMatching(/missing\.txt/),
    });
    // Nothing was pushed under the failed build's tag.
    expect((await api("GET", `/repository/${repository}/tag/?specificTag=broken`)).tags).toEqual([]);
  }, 180_000);
  it("pulls a private base of another repository only through the build's pull robot", async () => {
    // The base: the first test's image, in the private repository app; the build is in derived.
    await api("POST", "/repository", { namespace: org, repository: "derived", visibility: "private", description: "" });
    const robot = await api("PUT", `/organization/${org}/robots/puller`, {});
    await api("PUT", `/repository/${repository}/permissions/user/${robot.name}`, { role: "read" });
    const dockerfile = `FROM ${registryHost(server.url)}/${repository}:main\nLABEL derived=${runId}\n`;
    const build = async (body: Record<string, unknown>) => {
      const { url, file_id } = await api("POST", "/filedrop/", { mimeType: "application/octet-stream" });
      expect((await fetch(url, { method: "PUT", body: dockerfile })).status).toBeLessThan(300);
      const queued = await api("POST", `/repository/${org}/derived/build/`, { file_id, ...body });
      return waitForBuild(server.url, server.adminToken, `${org}/derived`, queued.id, 120_000, connector);
    };
    // Without a pull robot the build's credential reaches its own repository only.
    const refused = await build({ docker_tags: ["alone"] });
    expect(refused.phase, connector!.output().slice(-3000)).toBe("error");
    expect(refused.error).toMatch(/unauthori[sz]ed|denied|authentication required/i);
    const built = await build({ docker_tags: ["robot"], pull_robot: robot.name });
    expect(built.phase, connector!.output().slice(-3000)).toBe("complete");
    expect(built.pull_robot).toMatchObject({ name: robot.name, is_robot: true });
    const tags = await api("GET", `/repository/${org}/derived/tag/?specificTag=robot`);
    expect(tags.tags).toHaveLength(1);
  }, 180_000);
  it("runs the custom git trigger by hand at a commit (manuallyStartBuildTrigger) to complete", async () => {
    expect(first, "the first test made the trigger").toBeDefined();
    const started = await api("POST", `/repository/${repository}/trigger/${first!.trigger}/start`, {
      commit_sha: first!.commit,
    });
    expect(started).toMatchObject({ phase: "waiting", manual_user: "admin" });
    const done = await waitForBuild(server.url, server.adminToken, repository, started.id, 120_000, connector);
    expect(done.phase, connector!.output().slice(-3000)).toBe("complete");
    const logs = await api("GET", `/repository/${repository}/build/${started.id}/logs`);
    const messages = logs.logs.map((e: { message: string }) => e.message);
    expect(messages).toContain(`Cloning ${git.url("app")} at ${first!.commit}`);
  }, 180_000);
});
