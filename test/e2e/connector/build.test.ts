/**
 * The origin connector builds for real: a fake edge (helpers/fake-edge.ts) hands it build jobs
 * as docs/connector.md defines them; it fetches the source (a commit from a loopback git server,
 * a tar.gz uploaded to the edge), builds `FROM scratch` + `COPY` with buildah, and pushes every
 * tag to the end-to-end run's real Wharf with a real user's credentials. What was pushed is what
 * the Dockerfile says, the heartbeats carried Quay's phases and the builder's log, one job ran at
 * a time, and SIGTERM stops the connector cleanly.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registryHost, run, skopeo } from "../helpers/clients";
import { ConnectorProcess } from "../helpers/connector-process";
import { FakeEdge, type QueuedJob } from "../helpers/fake-edge";
import { GitServer, scratchContext } from "../helpers/git-server";
import type { Credentials } from "../helpers/registry-auth";
import { connectWharf } from "../helpers/server";

const base = inject("wharfUrl");
const host = registryHost(base);
const runId = randomBytes(3).toString("hex");
const namespace = "connbuild";
let creds: Credentials;
let git: GitServer;
let edge: FakeEdge;
let tmp: string;

beforeAll(async () => {
  const wharf = await connectWharf(base, inject("wharfStateDir"));
  creds = await wharf.credentialsFor(namespace);
  git = await GitServer.start();
  edge = await FakeEdge.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-connector-build-"));
});
afterAll(async () => {
  await edge?.stop();
  await git?.stop();
  await rm(tmp, { recursive: true, force: true });
});

function buildJob(repository: string, tags: string[], source: Record<string, unknown>, extra = {}) {
  return {
    uuid: randomBytes(8).toString("hex"),
    repository,
    registry: host,
    insecure: true,
    docker_tags: tags,
    build_subdir: "",
    context: "",
    dockerfile_path: "Dockerfile",
    source,
    credentials: { username: creds.username, password: creds.password, expires_at: Date.now() + 3_600_000 },
    ...extra,
  };
}

/** The file `name` in the single layer of `ref`, as pulled back from Wharf with skopeo. */
async function fileInImage(ref: string, name: string): Promise<{ text: string; digest: string }> {
  const dir = await mkdtemp(path.join(tmp, "pulled-"));
  const auth = ["--src-creds", `${creds.username}:${creds.password}`, "--src-tls-verify=false"];
  await skopeo(["copy", ...auth, `docker://${ref}`, `dir:${dir}`]);
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"));
  expect(manifest.layers).toHaveLength(1);
  const layer = path.join(dir, manifest.layers[0].digest.replace("sha256:", ""));
  const text = (await run("tar", ["-xOf", layer, name])).stdout.toString("utf8");
  const raw = await skopeo([
    "inspect",
    "--raw",
    "--creds",
    `${creds.username}:${creds.password}`,
    "--tls-verify=false",
    `docker://${ref}`,
  ]);
  const digest = `sha256:${(await import("node:crypto")).createHash("sha256").update(raw.stdout).digest("hex")}`;
  return { text, digest };
}

function phasesOf(job: QueuedJob): string[] {
  return edge
    .callsTo("/heartbeat", job)
    .map((c) => c.body?.phase)
    .filter((p): p is string => typeof p === "string");
}

function logsOf(job: QueuedJob): { message: string; type?: string }[] {
  return edge.callsTo("/heartbeat", job).flatMap((c) => c.body?.logs ?? []);
}

describe("the connector builds and pushes", () => {
  it("builds a git commit and an uploaded tar.gz, one at a time, pushes every tag, and stops on SIGTERM", async () => {
    const marker = `from git ${runId}`;
    const commit = await git.createRepository(`app-${runId}`, scratchContext(marker));
    // A later commit must not be what is built: the job names the first one.
    await git.commit(`app-${runId}`, scratchContext("a later commit"), "Later");
    const gitJob = edge.queue(
      "build",
      buildJob(`${namespace}/git-${runId}`, ["latest", "v1"], {
        kind: "git",
        url: git.url(`app-${runId}`),
        commit,
        ref: "refs/heads/main",
        ssh_private_key: null,
      }),
    );

    // An uploaded archive whose Dockerfile is in a subdirectory (Quay's build_subdir).
    const ctx = await mkdtemp(path.join(tmp, "upload-"));
    await run("mkdir", ["-p", path.join(ctx, "sub")]);
    for (const [name, text] of Object.entries(scratchContext(`from upload ${runId}`)))
      await writeFile(path.join(ctx, "sub", name), text);
    const archive = path.join(tmp, "context.tar.gz");
    await run("tar", ["-czf", archive, "-C", ctx, "sub"]);
    const uploadJob = edge.queue(
      "build",
      buildJob(
        `${namespace}/upload-${runId}`,
        ["latest"],
        { kind: "upload", mime_type: "application/x-tar" },
        {
          build_subdir: "sub",
          dockerfile_path: null,
        },
      ),
    );
    edge.sources.set(uploadJob.uuid, { bytes: await readFile(archive), type: "application/x-tar" });

    const workDir = path.join(tmp, "work");
    const connector = ConnectorProcess.start(
      [
        "--edge",
        edge.url,
        "--insecure-registry",
        "--allow-private-sources",
        "--work-dir",
        workDir,
        "--grace-seconds",
        "5",
      ],
      { WHARF_CONNECTOR_TOKEN: edge.token },
    );
    try {
      await edge.waitFor(() => Boolean(gitJob.completed || gitJob.failed), "the git build to end", 150_000);
      await edge.waitFor(() => Boolean(uploadJob.completed || uploadJob.failed), "the upload build to end", 150_000);
      expect(gitJob.failed, connector.output()).toBeUndefined();
      expect(uploadJob.failed, connector.output()).toBeUndefined();

      // docs/connector.md's result; one digest for both tags (the same image).
      expect(gitJob.completed.manifest_digests).toHaveLength(1);
      expect(gitJob.completed.image_id).toMatch(/^sha256:[a-f0-9]{64}$/);
      for (const tag of ["latest", "v1"]) {
        const pulled = await fileInImage(`${host}/${namespace}/git-${runId}:${tag}`, "hello.txt");
        expect(pulled.text).toBe(`${marker}\n`);
        expect(pulled.digest).toBe(gitJob.completed.manifest_digests[0]);
      }
      const uploaded = await fileInImage(`${host}/${namespace}/upload-${runId}:latest`, "hello.txt");
      expect(uploaded.text).toBe(`from upload ${runId}\n`);
      expect(uploaded.digest).toBe(uploadJob.completed.manifest_digests[0]);

      // Quay's phases in order, the Dockerfile's steps as `command` entries, the clone in the log.
      for (const job of [gitJob, uploadJob])
        expect(phasesOf(job)).toEqual(["unpacking", "pulling", "building", "pushing"]);
      expect(logsOf(gitJob)).toContainEqual({ message: "STEP 2/2: COPY hello.txt /hello.txt", type: "command" });
      expect(logsOf(gitJob).some((l) => l.message.startsWith(`Cloning ${git.url(`app-${runId}`)} at ${commit}`))).toBe(
        true,
      );
      expect(logsOf(uploadJob).some((l) => l.message === "Unpacked the tar build package")).toBe(true);
      // Every job call carried the job's lease; the source was fetched with it.
      for (const c of edge.calls.filter((c) => c.path.includes("/jobs/"))) expect(c.lease).toBeTruthy();
      expect(edge.callsTo("/source", uploadJob)).toHaveLength(1);

      // One job at a time: the second lease came after the first job's completion.
      const leases = edge.calls.filter((c) => c.path === "/connector/v1/lease" && c.status === 200);
      const firstDone = edge.callsTo("/complete", gitJob)[0]!.at;
      expect(leases).toHaveLength(2);
      expect(leases[1]!.at).toBeGreaterThanOrEqual(firstDone);

      // Sources, credentials and the builder's store are gone.
      expect(await readdir(workDir)).toEqual([]);

      await connector.signal("SIGTERM");
      expect((await connector.waitForExit(30_000)).code).toBe(0);
      expect(connector.output()).toMatch(/stopping: no new jobs/);
    } finally {
      await connector.kill();
    }
  });

  it("builds with podman just the same (--builder podman), then exits after one job with --once", async () => {
    const marker = `podman ${runId}`;
    const commit = await git.createRepository(`podman-${runId}`, scratchContext(marker));
    const job = edge.queue(
      "build",
      buildJob(`${namespace}/podman-${runId}`, ["latest"], {
        kind: "git",
        url: git.url(`podman-${runId}`),
        commit,
        ref: "refs/heads/main",
        ssh_private_key: null,
      }),
    );
    const connector = ConnectorProcess.start(
      [
        "--edge",
        edge.url,
        "--builder",
        "podman",
        "--insecure-registry",
        "--allow-private-sources",
        "--once",
        "--work-dir",
        path.join(tmp, "work-podman"),
      ],
      { WHARF_CONNECTOR_TOKEN: edge.token },
    );
    try {
      expect((await connector.waitForExit(150_000)).code).toBe(0);
      expect(connector.output()).toMatch(/builder podman/);
      expect(job.failed, connector.output()).toBeUndefined();
      expect(job.completed.image_id).toMatch(/^sha256:[a-f0-9]{64}$/);
      const pulled = await fileInImage(`${host}/${namespace}/podman-${runId}:latest`, "hello.txt");
      expect(pulled.text).toBe(`${marker}\n`);
      expect(pulled.digest).toBe(job.completed.manifest_digests[0]);
    } finally {
      await connector.kill();
    }
  });

  it("refuses a plain-HTTP registry without --insecure-registry, for good", async () => {
    const job = edge.queue(
      "build",
      buildJob(`${namespace}/refused-${runId}`, ["latest"], { kind: "upload", mime_type: "text/plain" }),
    );
    const connector = ConnectorProcess.start(["--edge", edge.url, "--once"], { WHARF_CONNECTOR_TOKEN: edge.token });
    try {
      expect((await connector.waitForExit(60_000)).code).toBe(0);
      expect(job.failed).toEqual({
        error: `the registry ${host} is plain HTTP; this connector pushes only over TLS (start it with --insecure-registry)`,
        retry: false,
      });
      expect(edge.callsTo("/source", job)).toEqual([]);
    } finally {
      await connector.kill();
    }
  });

  it("builds a Dockerfile fetched from an archive URL, and refuses a URL on a private address unless allowed", async () => {
    // A lone Dockerfile (no archive) at a URL: the context is the Dockerfile alone.
    const dockerfile = Buffer.from(`FROM scratch\nLABEL marker=archive-${runId}\n`);
    const url = edge.serveLayer(dockerfile).uri;
    const refused = edge.queue(
      "build",
      buildJob(`${namespace}/private-${runId}`, ["latest"], { kind: "archive", url }),
    );
    const first = ConnectorProcess.start(["--edge", edge.url, "--insecure-registry", "--once"], {
      WHARF_CONNECTOR_TOKEN: edge.token,
    });
    try {
      expect((await first.waitForExit(60_000)).code).toBe(0);
      expect(refused.failed).toEqual({
        error:
          "the source's host 127.0.0.1 is a private address (127.0.0.1); this connector does not fetch from its own network",
        retry: false,
      });
    } finally {
      await first.kill();
    }

    const job = edge.queue("build", buildJob(`${namespace}/archive-${runId}`, ["latest"], { kind: "archive", url }));
    const second = ConnectorProcess.start(
      [
        "--edge",
        edge.url,
        "--insecure-registry",
        "--allow-private-sources",
        "--once",
        "--work-dir",
        path.join(tmp, "work-archive"),
      ],
      { WHARF_CONNECTOR_TOKEN: edge.token },
    );
    try {
      expect((await second.waitForExit(120_000)).code).toBe(0);
      expect(job.failed, second.output()).toBeUndefined();
      const ref = `docker://${host}/${namespace}/archive-${runId}:latest`;
      const inspected = JSON.parse(
        (
          await skopeo(["inspect", "--creds", `${creds.username}:${creds.password}`, "--tls-verify=false", ref])
        ).stdout.toString("utf8"),
      );
      expect(inspected.Labels.marker).toBe(`archive-${runId}`);
      expect(inspected.Digest).toBe(job.completed.manifest_digests[0]);
      expect(logsOf(job).some((l) => l.message === "The build package is a Dockerfile")).toBe(true);
    } finally {
      await second.kill();
    }
  });
});
