/**
 * The Docker engine (Debian's docker.io, started by the test: helpers/daemons.ts) against the
 * running registry, as a user drives it: `docker login` with each kind of credential, `docker
 * build` FROM scratch and `docker push` (several layers, a 200 MiB layer, a re-push, a
 * cross-repository mount), `docker pull` by tag and by digest, `docker manifest create/push` of a
 * list, `docker search`, `docker logout`, and the refusals (a wrong password, a push where the
 * user holds no grant, anything private once logged out).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { registryHost } from "./helpers/clients";
import { DockerEngine } from "./helpers/daemons";
import { layerFiles, sha256 } from "./helpers/oci-layout";
import { connectWharf } from "./helpers/server";
import type { Credentials } from "./helpers/registry-auth";

const base = inject("wharfUrl");
const host = registryHost(base);
const run = randomBytes(3).toString("hex");
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let docker: DockerEngine;
let tmp: string;
/** The owner of the namespace `docker`, where most images here go. */
let owner: Credentials;

const adminCall = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);
const adminOAuth = (): Credentials => ({ username: "$oauthtoken", password: wharf.adminToken });

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-docker-"));
  owner = await wharf.credentialsFor("docker");
  docker = await DockerEngine.start();
});
afterAll(async () => {
  await docker?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A build context: `files` and a Dockerfile FROM scratch that copies each in its own layer. */
async function context(name: string, files: Record<string, Buffer | string>): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(dir, file), content);
  const copies = Object.keys(files).map((file) => `COPY ${file} /${file}\n`);
  await writeFile(path.join(dir, "Dockerfile"), `FROM scratch\n${copies.join("")}`);
  return dir;
}

/** The registry's manifest for `repo:reference` (as the namespace's owner), parsed, with its digest. */
async function registryManifest(repo: string, reference: string, accept = `${DOCKER_MANIFEST}, ${DOCKER_LIST}`) {
  const res = await wharf.login.fetch(`${base}/v2/${repo}/manifests/${reference}`, { headers: { Accept: accept } });
  expect(res.status, `GET ${repo}:${reference}`).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  return { digest: sha256(body), mediaType: res.headers.get("content-type"), json: JSON.parse(body.toString("utf8")) };
}

/** The files in the layers of `repo`'s manifest `digest`, as the registry serves them. */
async function filesIn(repo: string, digest: string): Promise<Map<string, Buffer>> {
  const { json } = await registryManifest(repo, digest);
  const files = new Map<string, Buffer>();
  for (const layer of json.layers as { digest: string }[]) {
    const blob = await wharf.login.fetch(`${base}/v2/${repo}/blobs/${layer.digest}`);
    expect(blob.status).toBe(200);
    for (const [name, content] of layerFiles(new Uint8Array(await blob.arrayBuffer()))) files.set(name, content);
  }
  return files;
}

/** Logs in with `credentials`, builds a one-file image, pushes it to `repo:tag`, removes it and pulls it back. */
async function pushAndPullWith(credentials: Credentials, repo: string, tag = "1"): Promise<void> {
  await docker.login(host, credentials);
  const ref = `${host}/${repo}:${tag}`;
  const content = `pushed to ${repo} ${randomBytes(8).toString("hex")}\n`;
  const id = await docker.build(await context(`${repo.replace(/\W/g, "-")}-${tag}`, { "who.txt": content }), ref);
  const { digest } = await docker.push(ref);
  await docker.docker(["rmi", "--force", id]);
  await docker.docker(["pull", ref]);
  expect(await docker.imageId(ref)).toBe(id);
  expect((await filesIn(repo, digest)).get("who.txt")?.toString()).toBe(content);
}

let multi: { repo: string; id: string; digest: string };

describe("docker with a password", () => {
  it("builds a multi-layer image, pushes it, re-pushes it, and pulls it by tag and by digest", async () => {
    await docker.login(host, owner);
    expect(Object.keys(docker.storedLogins())).toContain(host);
    const repo = `docker/multi-${run}`;
    const ref = `${host}/${repo}:1`;
    const files = { "a.txt": "first layer\n", "b.bin": randomBytes(300_000), "c.bin": randomBytes(70_000) };
    const id = await docker.build(await context("multi", files), ref);
    const { digest, output } = await docker.push(ref);
    expect(output).toMatch(/Pushed/);

    const manifest = await registryManifest(repo, "1");
    expect(manifest.digest).toBe(digest);
    expect(manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(manifest.json.layers).toHaveLength(3);
    expect(`${manifest.json.config.digest}`).toBe(id);
    const served = await filesIn(repo, digest);
    for (const [name, content] of Object.entries(files))
      expect(served.get(name)?.equals(Buffer.from(content)), name).toBe(true);

    // A re-push uploads nothing and names the same manifest.
    const again = await docker.push(ref);
    expect(again.digest).toBe(digest);
    expect(again.output.match(/Layer already exists/g)).toHaveLength(3);

    await docker.docker(["rmi", "--force", id]);
    expect(await docker.text(["pull", ref])).toContain(`Digest: ${digest}`);
    expect(await docker.imageId(ref)).toBe(id);
    await docker.docker(["rmi", "--force", id]);
    await docker.docker(["pull", `${host}/${repo}@${digest}`]);
    expect(await docker.imageId(`${host}/${repo}@${digest}`)).toBe(id);
    // As the README says: docker takes `localhost` (a loopback address) as a plain-HTTP registry.
    const localhost = `localhost:${new URL(base).port}`;
    await docker.login(localhost, owner);
    await docker.docker(["pull", `${localhost}/${repo}:1`]);
    expect(await docker.imageId(`${localhost}/${repo}:1`)).toBe(id);
    multi = { repo, id, digest };
  });

  it("mounts the layers into another repository instead of uploading them", async () => {
    expect(multi, "the multi-layer test ran first").toBeDefined();
    const target = `${host}/docker/mounted-${run}:1`;
    await docker.docker(["tag", multi.id, target]);
    const { digest, output } = await docker.push(target);
    expect(output.match(new RegExp(`Mounted from ${multi.repo}`, "g"))).toHaveLength(3);
    expect(digest).toBe(multi.digest);
    expect((await registryManifest(`docker/mounted-${run}`, "1")).digest).toBe(multi.digest);
  });

  it("pushes and pulls a 200 MiB layer", async () => {
    const dir = await context("big", {});
    const out = createWriteStream(path.join(dir, "big.bin"));
    for (let i = 0; i < 200; i++)
      if (!out.write(randomBytes(1024 * 1024))) await new Promise<void>((r) => out.once("drain", () => r()));
    out.end();
    await finished(out);
    await writeFile(path.join(dir, "Dockerfile"), "FROM scratch\nCOPY big.bin /big.bin\n");
    const repo = `docker/big-${run}`;
    const ref = `${host}/${repo}:1`;
    const id = await docker.build(dir, ref);
    const { digest } = await docker.push(ref);
    const manifest = await registryManifest(repo, "1");
    expect(manifest.digest).toBe(digest);
    const layer = manifest.json.layers[0] as { digest: string; size: number };
    expect(layer.size).toBeGreaterThan(200 * 1024 * 1024);
    const head = await wharf.login.fetch(`${base}/v2/${repo}/blobs/${layer.digest}`, { method: "HEAD" });
    expect(Number(head.headers.get("content-length"))).toBe(layer.size);
    await docker.docker(["rmi", "--force", id]);
    // docker checks every layer's digest and the image's diff_ids as it pulls.
    await docker.docker(["pull", ref], { timeoutMs: 300_000 });
    expect(await docker.imageId(ref)).toBe(id);
    await docker.docker(["rmi", "--force", id]);
  });

  it("creates and pushes a manifest list, and pulls the platform's image through it", async () => {
    expect(multi, "the multi-layer test ran first").toBeDefined();
    const second = `${host}/docker/other-${run}:1`;
    const secondId = await docker.build(await context("other", { "other.txt": `arm ${run}\n` }), second);
    const { digest: secondDigest } = await docker.push(second);
    const list = `${host}/docker/list-${run}:1`;
    await docker.docker(["manifest", "create", "--insecure", list, `${host}/${multi.repo}:1`, second]);
    await docker.docker(["manifest", "annotate", "--arch", "arm64", list, second]);
    const pushed = (await docker.text(["manifest", "push", "--insecure", list])).match(
      /^(sha256:[0-9a-f]{64})\s*$/m,
    )?.[1];

    const served = await registryManifest(`docker/list-${run}`, "1", DOCKER_LIST);
    expect(served.digest).toBe(pushed);
    expect(served.mediaType).toBe(DOCKER_LIST);
    expect(served.json.manifests.map((m: any) => [m.digest, m.platform.architecture])).toEqual([
      [multi.digest, "amd64"],
      [secondDigest, "arm64"],
    ]);
    await docker.docker(["rmi", "--force", multi.id, secondId]);
    await docker.docker(["pull", list]);
    expect(await docker.imageId(list)).toBe(multi.id);
  });
});

describe("docker login with each kind of credential, then push and pull", () => {
  it("an application token, as the password and as $app", async () => {
    const { token } = await adminCall("POST", "/user/apptoken", { title: `docker ${run}` });
    await pushAndPullWith({ username: "admin", password: token.token_code }, `admin/docker-app-${run}`);
    await pushAndPullWith({ username: "$app", password: token.token_code }, `admin/docker-app-${run}`, "2");
  });

  it("an OAuth token as $oauthtoken", async () => {
    await pushAndPullWith(adminOAuth(), `admin/docker-oauth-${run}`);
  });

  it("a robot token, where the robot was granted write", async () => {
    await pushAndPullWith(adminOAuth(), `admin/docker-robot-${run}`);
    const robot = await adminCall("PUT", `/user/robots/dk${run}`, { description: "docker e2e" });
    await adminCall("PUT", `/repository/admin/docker-robot-${run}/permissions/user/${robot.name}`, { role: "write" });
    await pushAndPullWith({ username: robot.name, password: robot.token }, `admin/docker-robot-${run}`, "robot");
  });
});

describe("docker search", () => {
  it("lists what the logged-in user may pull, and only public repositories once logged out", async () => {
    const open = `admin/search-${run}-open`;
    const closed = `admin/search-${run}-closed`;
    await pushAndPullWith(adminOAuth(), open);
    await pushAndPullWith(adminOAuth(), closed);
    await adminCall("PUT", `/repository/${open}`, { description: "Found by docker search" });
    await adminCall("POST", `/repository/${open}/changevisibility`, { visibility: "public" });
    const search = async () => {
      const out = await docker.text([
        "search",
        "--no-trunc",
        "--format",
        "{{.Name}}|{{.Description}}|{{.StarCount}}",
        `${host}/search-${run}`,
      ]);
      return out.trim().split("\n").filter(Boolean).sort();
    };
    expect(await search()).toEqual([`${closed}||0`, `${open}|Found by docker search|0`]);
    await docker.login(host, owner);
    expect(await search()).toEqual([`${open}|Found by docker search|0`]);
    await docker.docker(["logout", host]);
    expect(await search()).toEqual([`${open}|Found by docker search|0`]);
  });
});

describe("docker refusals", () => {
  it("refuses a wrong password at login, and stores nothing", async () => {
    await docker.docker(["logout", host]);
    await expect(docker.login(host, { username: owner.username, password: "not-the-password" })).rejects.toThrow(
      /unauthorized: invalid username or password/,
    );
    expect(Object.keys(docker.storedLogins())).not.toContain(host);
  });

  it("refuses a push where the user holds no grant, and creates nothing", async () => {
    await docker.login(host, owner);
    const ref = `${host}/admin/forbidden-${run}:1`;
    await docker.build(await context("forbidden", { "x.txt": "x\n" }), ref);
    await expect(docker.push(ref)).rejects.toThrow(/denied: requested access to the resource is denied/);
    const tags = await wharf.login.fetch(`${base}/v2/admin/forbidden-${run}/tags/list`);
    expect(tags.status).toBe(404);
    expect(((await tags.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("NAME_UNKNOWN");
  });

  it("logs out: the credentials are gone, and private pushes and pulls are refused", async () => {
    expect(multi, "the multi-layer test ran first").toBeDefined();
    await docker.login(host, owner);
    await docker.docker(["logout", host]);
    expect(Object.keys(docker.storedLogins())).not.toContain(host);
    const ref = `${host}/${multi.repo}:after-logout`;
    await docker.build(await context("after-logout", { "y.txt": "y\n" }), ref);
    await expect(docker.push(ref)).rejects.toThrow(/denied: requested access to the resource is denied/);
    await expect(docker.docker(["pull", `${host}/${multi.repo}:1`])).rejects.toThrow(/pull access denied/);
    expect(
      (await wharf.login.fetch(`${base}/v2/${multi.repo}/manifests/after-logout`, { method: "HEAD" })).status,
    ).toBe(404);
  });
});
