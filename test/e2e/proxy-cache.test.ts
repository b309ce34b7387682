/**
 * A proxy-cache organization (README "Proxy cache (issue #16)") against real upstream registries
 * on loopback (helpers/upstream-registries.ts): Debian's docker-registry behind a counting proxy,
 * and a second Wharf with its token dance. Pulled with podman and skopeo, as a member of the cache
 * organization:
 * - a first pull through the cache is byte-identical to the upstream (manifest and every blob);
 * - with the upstream stopped, the cached tag still pulls inside `expiration_s` and fails clearly
 *   after it;
 * - ten concurrent first pulls cause one upstream fetch per blob (counted at the upstream);
 * - a private repository of a second Wharf, through the upstream credentials and its tokens.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, Podman, registryHost, run, skopeo, skopeoInspectRaw } from "./helpers/clients";
import { type RunningServer, startWharf } from "./helpers/server";
import {
  allowOutboundTo,
  type CountingProxy,
  putTestImage,
  startCountingProxy,
  startDistributionUpstream,
  startWharfUpstream,
  type Upstream,
} from "./helpers/upstream-registries";

const EXPIRATION_S = 20;
let upstream: Upstream;
let proxy: CountingProxy;
let privateUpstream: Upstream;
let wharf: RunningServer;
let host: string;
let work: string;

beforeAll(async () => {
  [upstream, privateUpstream] = await Promise.all([startDistributionUpstream(), startWharfUpstream("vault")]);
  proxy = await startCountingProxy(upstream.url);
  wharf = await startWharf({
    env: { FEATURE_PROXY_CACHE: "true", ALLOW_PRIVATE_OUTBOUND: allowOutboundTo(proxy, privateUpstream) },
  });
  host = registryHost(wharf.url);
  work = await mkdtemp(path.join(os.tmpdir(), "wharf-proxy-e2e-"));
  const admin = wharf.adminToken;
  const puller = await wharf.credentialsFor("puller");
  for (const [org, config] of [
    ["hubcache", { upstream_registry: proxy.host, insecure: true, expiration_s: EXPIRATION_S }],
    [
      "vaultcache",
      {
        upstream_registry: `${privateUpstream.host}/vault`,
        upstream_registry_username: privateUpstream.credentials!.username,
        upstream_registry_password: privateUpstream.credentials!.password,
        insecure: true,
      },
    ],
  ] as const) {
    await apiCall(wharf.url, admin, "POST", "/organization/", { name: org, email: `${org}@example.com` });
    await apiCall(wharf.url, admin, "PUT", `/organization/${org}/team/readers`, { role: "member" });
    await apiCall(wharf.url, admin, "PUT", `/organization/${org}/team/readers/members/puller`);
    await apiCall(wharf.url, admin, "POST", `/organization/${org}/proxycache`, config);
  }
  await login(host, puller, path.join(work, "auth.json"), "skopeo");
}, 240_000);

afterAll(async () => {
  await wharf?.stop();
  await proxy?.close();
  await Promise.all([upstream?.stop(), privateUpstream?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs a client expected to fail: its error text (the command line, exit status, stderr). */
async function failureOf(command: string, args: string[]): Promise<string> {
  return run(command, args).then(
    () => expect.fail(`${command} ${args.join(" ")} succeeded`),
    (err: Error) => err.message,
  );
}

/** `skopeo copy` of `ref` into a fresh `dir:` layout; returns its directory. */
async function copyToDir(ref: string, options: { creds?: { username: string; password: string }; all?: boolean } = {}) {
  const dir = await mkdtemp(path.join(work, "dir-"));
  const args = ["copy", "--src-tls-verify=false"];
  if (options.all) args.push("--all");
  if (options.creds) {
    const file = path.join(dir, "..", `auth-${path.basename(dir)}.json`);
    const auth = Buffer.from(`${options.creds.username}:${options.creds.password}`).toString("base64");
    await writeFile(file, JSON.stringify({ auths: { [registryHost(`http://${ref.split("/")[2]}`)]: { auth } } }));
    args.push("--src-authfile", file);
  }
  await skopeo([...args, ref, `dir:${dir}`]);
  return dir;
}

/** Every file of a `dir:` layout, by name (the manifest and one file per blob). */
async function filesOf(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const name of await readdir(dir)) if (name !== "version") out[name] = await readFile(path.join(dir, name));
  return out;
}

describe("a proxy-cache organization in front of docker-registry", () => {
  it("a first pull with skopeo and podman is byte-identical to the upstream; later ones come from the cache", async () => {
    const pushed = await putTestImage(upstream, "team/app", ["1.0"], { layers: 3 });
    const fromUpstream = await filesOf(await copyToDir(`docker://${upstream.host}/team/app:1.0`));
    proxy.reset();
    const throughCache = await filesOf(await copyToDir(`docker://${host}/hubcache/team/app:1.0`));
    expect(Object.keys(throughCache).sort()).toEqual(Object.keys(fromUpstream).sort());
    for (const [name, bytes] of Object.entries(fromUpstream))
      expect(throughCache[name]!.equals(bytes), name).toBe(true);
    expect(
      (await skopeoInspectRaw(`docker://${host}/hubcache/team/app:1.0`)).equals(fromUpstream["manifest.json"]!),
    ).toBe(true);
    const fetched = proxy.count("GET", "/v2/team/app/blobs/*");
    expect(fetched).toBe(4); // the config and three layers, once each

    const podman = await Podman.create();
    try {
      await podman.pull(`${host}/hubcache/team/app:1.0`);
      const manifest = JSON.parse(fromUpstream["manifest.json"]!.toString()) as { config: { digest: string } };
      expect(await podman.imageId(`${host}/hubcache/team/app:1.0`)).toBe(
        manifest.config.digest.slice("sha256:".length),
      );
    } finally {
      await podman.dispose();
    }
    // The cache answered podman's blobs itself; the upstream saw only the tag's HEADs.
    expect(proxy.count("GET", "/v2/team/app/blobs/*")).toBe(fetched);
    expect(proxy.count("GET", `/v2/team/app/manifests/${pushed.digest}`)).toBe(1);
  });

  // How long a cold blob's first byte waits (fill first) is measured by the bench beside
  // docker-registry as a pull-through cache (bench/workloads/proxy-cache.ts), not asserted here.
  it("a large layer pulled cold and then warm through the cache is the upstream's bytes", async () => {
    await putTestImage(upstream, "team/big", ["v1"], { layers: 1, layerSize: () => 32 * 1024 * 1024 });
    const manifest = JSON.parse((await skopeoInspectRaw(`docker://${host}/hubcache/team/big:v1`)).toString()) as {
      layers: Array<{ digest: string; size: number }>;
    };
    const layer = manifest.layers[0]!;
    const read = async (url: string, headers: Record<string, string> = {}) => {
      const res = await fetch(url, { headers });
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
      return { status: res.status, bytes, digest: `sha256:${hash.digest("hex")}` };
    };
    const token = await wharf.login.token("puller", ["repository:hubcache/team/big:pull"]);
    const auth = { Authorization: `Bearer ${token}` };
    const expected = { status: 200, bytes: layer.size, digest: layer.digest };
    expect(await read(`${upstream.url}/v2/team/big/blobs/${layer.digest}`)).toEqual(expected);
    proxy.reset();
    expect(await read(`${wharf.url}/v2/hubcache/team/big/blobs/${layer.digest}`, auth)).toEqual(expected);
    expect(await read(`${wharf.url}/v2/hubcache/team/big/blobs/${layer.digest}`, auth)).toEqual(expected);
    // The cold read fetched the layer once; the warm one came from the cache.
    expect(proxy.count("GET", `/v2/team/big/blobs/${layer.digest}`)).toBe(1);
  });

  it("a multi-arch index and its children (pulled by digest) are byte-identical too", async () => {
    await putTestImage(upstream, "team/multi", ["v1"], { multiArch: true });
    const fromUpstream = await filesOf(await copyToDir(`docker://${upstream.host}/team/multi:v1`, { all: true }));
    const throughCache = await filesOf(await copyToDir(`docker://${host}/hubcache/team/multi:v1`, { all: true }));
    expect(Object.keys(throughCache).sort()).toEqual(Object.keys(fromUpstream).sort());
    for (const [name, bytes] of Object.entries(fromUpstream))
      expect(throughCache[name]!.equals(bytes), name).toBe(true);
  });

  it("ten concurrent first pulls cause one upstream fetch per blob", async () => {
    await putTestImage(upstream, "team/crowd", ["v1"], { layers: 2, layerSize: () => 2 * 1024 * 1024 });
    proxy.reset();
    const dirs = await Promise.all(
      Array.from({ length: 10 }, () => copyToDir(`docker://${host}/hubcache/team/crowd:v1`)),
    );
    const first = await filesOf(dirs[0]!);
    for (const dir of dirs.slice(1)) expect(await filesOf(dir)).toEqual(first);
    const blobGets = proxy.requests.filter((r) => r.method === "GET" && r.path.startsWith("/v2/team/crowd/blobs/"));
    const perBlob = new Map<string, number>();
    for (const r of blobGets) perBlob.set(r.path, (perBlob.get(r.path) ?? 0) + 1);
    expect(perBlob.size).toBe(3);
    expect([...perBlob.values()]).toEqual([1, 1, 1]);
  });

  it("with the upstream stopped the cached tag pulls within expiration_s, and fails clearly after it", async () => {
    await putTestImage(upstream, "team/offline", ["v1"]);
    await copyToDir(`docker://${host}/hubcache/team/offline:v1`);
    const pulledAt = Date.now();
    await proxy.stop();
    try {
      const podman = await Podman.create();
      try {
        await podman.pull(`${host}/hubcache/team/offline:v1`);
      } finally {
        await podman.dispose();
      }
      expect(Date.now() - pulledAt).toBeLessThan(EXPIRATION_S * 1000);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, pulledAt + (EXPIRATION_S + 2) * 1000 - Date.now())),
      );
      const failed = await failureOf("skopeo", [
        "inspect",
        "--raw",
        "--tls-verify=false",
        `docker://${host}/hubcache/team/offline:v1`,
      ]);
      expect(failed).toMatch(/manifest unknown|upstream registry is unavailable/);
      const token = await wharf.login.token("puller", ["repository:hubcache/team/offline:pull"]);
      const res = await fetch(`${wharf.url}/v2/hubcache/team/offline/manifests/v1`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).errors[0].message).toBe(
        "the upstream registry is unavailable and no unexpired cached copy exists",
      );
    } finally {
      await proxy.start();
    }
  }, 90_000);
});

describe("a second Wharf, private, as the upstream", () => {
  it("pulls through the upstream's token dance with the organization's credentials", async () => {
    await putTestImage(privateUpstream, "vault/secret", ["v1"]);
    const fromUpstream = await filesOf(
      await copyToDir(`docker://${privateUpstream.host}/vault/secret:v1`, { creds: privateUpstream.credentials }),
    );
    const throughCache = await filesOf(await copyToDir(`docker://${host}/vaultcache/secret:v1`));
    expect(Object.keys(throughCache).sort()).toEqual(Object.keys(fromUpstream).sort());
    for (const [name, bytes] of Object.entries(fromUpstream))
      expect(throughCache[name]!.equals(bytes), name).toBe(true);
  });

  it("refuses a push into the cache organization", async () => {
    const layout = await copyToDir(`docker://${host}/vaultcache/secret:v1`);
    const refused = await failureOf("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      `dir:${layout}`,
      `docker://${host}/vaultcache/pushed:v1`,
    ]);
    expect(refused.toLowerCase()).toMatch(/denied|unauthorized|authentication required/);
  });
});
