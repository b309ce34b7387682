/**
 * BLOB_REDIRECT (src/routes/v2/blob-redirect.ts): a blob GET answers 307 to a presigned URL of
 * R2's S3 API, with the digest and no body, after the same access and link checks as any pull;
 * HEAD and ranged GETs are served as before; off by default; on without its secrets the Worker
 * answers 503 naming them. The URL's signature is recomputed here with the test's key pair.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { configIssues } from "../../../src/config";
import { TOKEN_TTL_SECONDS } from "../../../src/identity/registry-tokens";
import worker from "../../../src/index";
import { amzDate, presignGet } from "../../../src/storage/presign";
import { freezeClock } from "../helpers/clock";
import { tokenFor } from "../helpers/accounts";
import { api } from "../helpers/api";
import { observedEnv } from "../helpers/observed-env";
import { FakeUpstream, proxyApi, proxyEnv, proxyWorker } from "../helpers/proxy-cache";
import { BASE, pushImage, registryToken, subjectNamed, uniqueName } from "../helpers/registry";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const KEYS = { R2_ACCESS_KEY_ID: "test-access-key-id", R2_SECRET_ACCESS_KEY: "test-secret-access-key-never-shown" };
const REDIRECT = { BLOB_REDIRECT: "true", R2_ACCOUNT_ID: ACCOUNT, R2_BUCKET_NAME: "wharf-blobs", ...KEYS };

/** One request through the Worker with `vars` over the test env; the body read whole. */
async function send(vars: Record<string, string | undefined>, method: string, path: string, init: RequestInit = {}) {
  const observed = observedEnv({ ...env, ...vars } as Env);
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { method, ...init }) as Parameters<typeof worker.fetch>[0],
    observed.env,
    createExecutionContext(),
  );
  const body = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: new TextDecoder().decode(body), r2: observed.r2 };
}

const pullHeaders = async (name: string) => ({
  Authorization: `Bearer ${await registryToken([{ type: "repository", name, actions: ["pull"] }])}`,
});

let now: number;
beforeEach(() => {
  now = freezeClock();
});

describe("the blob redirect", () => {
  it("is off by default: a GET streams the bytes", async () => {
    const name = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    const res = await send({}, "GET", `/v2/${name}/blobs/${image.layers[0]}`, { headers: await pullHeaders(name) });
    expect(res.status).toBe(200);
    expect(res.body.byteLength).toBe(1024);
    expect(res.headers.get("Location")).toBeNull();
  });

  it("answers a GET with 307 to a presigned GET of the blob's object: host, path, query, signature", async () => {
    const name = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    const digest = image.layers[0]!;
    const res = await send(REDIRECT, "GET", `/v2/${name}/blobs/${digest}`, { headers: await pullHeaders(name) });
    expect(res.status).toBe(307);
    expect(res.body.byteLength).toBe(0);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    // The bytes were not opened: no R2 call at all.
    expect(res.r2).toEqual([]);
    const location = new URL(res.headers.get("Location")!);
    expect(location.origin).toBe(`https://${ACCOUNT}.r2.cloudflarestorage.com`);
    expect(location.pathname).toBe(`/wharf-blobs/blobs/sha256/${digest.slice("sha256:".length)}`);
    const day = amzDate(now).slice(0, 8);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${KEYS.R2_ACCESS_KEY_ID}/${day}/auto/s3/aws4_request`,
      "X-Amz-Date": amzDate(now),
      "X-Amz-Expires": "300",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const expected = await presignGet({
      endpoint: `https://${ACCOUNT}.r2.cloudflarestorage.com`,
      path: ["wharf-blobs", "blobs", "sha256", digest.slice("sha256:".length)],
      region: "auto",
      credentials: { accessKeyId: KEYS.R2_ACCESS_KEY_ID, secretAccessKey: KEYS.R2_SECRET_ACCESS_KEY },
      expiresSeconds: 300,
      nowMs: now,
    });
    expect(res.headers.get("Location")).toBe(expected);
    expect(JSON.stringify([...res.headers])).not.toContain(KEYS.R2_SECRET_ACCESS_KEY);
  });

  it("honours R2_S3_ENDPOINT and BLOB_REDIRECT_TTL_SECONDS", async () => {
    const name = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    const vars = { ...REDIRECT, R2_S3_ENDPOINT: "http://127.0.0.1:9000", BLOB_REDIRECT_TTL_SECONDS: "60" };
    const res = await send(vars, "GET", `/v2/${name}/blobs/${image.config}`, { headers: await pullHeaders(name) });
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get("Location")!);
    expect(location.host).toBe("127.0.0.1:9000");
    expect(location.searchParams.get("X-Amz-Expires")).toBe("60");
  });

  it("does not redirect a HEAD, nor a ranged GET (served as the range it is)", async () => {
    const name = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    const path = `/v2/${name}/blobs/${image.layers[0]}`;
    const head = await send(REDIRECT, "HEAD", path, { headers: await pullHeaders(name) });
    expect(head.status).toBe(200);
    expect(head.headers.get("Location")).toBeNull();
    expect(head.headers.get("Content-Length")).toBe("1024");
    const ranged = await send(REDIRECT, "GET", path, { headers: { ...(await pullHeaders(name)), Range: "bytes=0-9" } });
    expect(ranged.status).toBe(206);
    expect(ranged.body.byteLength).toBe(10);
    expect(ranged.headers.get("Location")).toBeNull();
  });

  it("gives no URL to a caller without access, nor for a blob the repository does not link", async () => {
    const name = uniqueName("redirect");
    const other = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    await pushImage(other, "v1");
    const path = `/v2/${name}/blobs/${image.layers[0]}`;
    const anonymous = await send(REDIRECT, "GET", path);
    expect(anonymous.status).toBe(401);
    const elsewhere = await send(REDIRECT, "GET", path, { headers: await pullHeaders(other) });
    expect([401, 403, 404]).toContain(elsewhere.status);
    // Linked to `name`, not to `other`: the link check comes before any URL.
    const unlinked = await send(REDIRECT, "GET", `/v2/${other}/blobs/${image.layers[0]}`, {
      headers: await pullHeaders(other),
    });
    expect(unlinked.status).toBe(404);
    expect(JSON.parse(unlinked.text).errors[0].code).toBe("BLOB_UNKNOWN");
    for (const res of [anonymous, elsewhere, unlinked]) {
      expect(res.headers.get("Location")).toBeNull();
      expect(res.text).not.toContain("X-Amz");
    }
  });

  it("charges fair use before answering: a spent bandwidth budget is a 429, not a URL", async () => {
    const name = uniqueName("redirect");
    const image = await pushImage(name, "v1");
    const vars = { ...REDIRECT, FAIR_USE_TOKEN_PULL_BYTES_PER_HOUR: "1500" };
    const path = `/v2/${name}/blobs/${image.layers[0]}`;
    const headers = await pullHeaders(name);
    expect((await send(vars, "GET", path, { headers })).status).toBe(307);
    const refused = await send(vars, "GET", path, { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Location")).toBeNull();
  });
});

describe("the redirect in a proxy-cache organization", () => {
  it("fetches a blob it does not hold from the upstream first, then redirects to what R2 now holds", async () => {
    await subjectNamed("rcacheowner");
    const owner = await tokenFor("rcacheowner");
    const org = { name: "rcache", email: "rcache@example.com" };
    expect((await api("POST", "/organization/", { token: owner, body: org })).status).toBe(201);
    const cache = { upstream_registry: "upstream.test", expiration_s: 3600 };
    expect((await proxyApi("POST", "/organization/rcache/proxycache", owner, cache)).status).toBe(201);
    const upstream = new FakeUpstream();
    const uninstall = upstream.install();
    try {
      const image = await upstream.image("library/app", "1", 4096);
      const token = await registryToken(
        [{ type: "repository", name: "rcache/library/app", actions: ["pull"] }],
        "rcacheowner",
      );
      const accept = { Accept: "application/vnd.oci.image.manifest.v1+json" };
      const manifest = await proxyWorker("GET", "/v2/rcache/library/app/manifests/1", { token, headers: accept });
      expect(manifest.status).toBe(200);
      const redirectEnv = { ...proxyEnv(), ...REDIRECT } as unknown as Env;
      const path = `/v2/rcache/library/app/blobs/${image.layer.digest}`;
      const res = await proxyWorker("GET", path, { token, env: redirectEnv });
      expect(res.status).toBe(307);
      expect(upstream.count(`getBlob library/app ${image.layer.digest}`)).toBe(1);
      // The URL names an object R2 holds, with the upstream's bytes.
      const key = new URL(res.headers.get("Location")!).pathname.split("/").slice(2).join("/");
      const held = await env.BLOBS.get(key);
      expect(new Uint8Array(await held!.arrayBuffer())).toEqual(image.layer.bytes);
      // Held now: the next GET redirects without asking the upstream again.
      expect((await proxyWorker("GET", path, { token, env: redirectEnv })).status).toBe(307);
      expect(upstream.count(`getBlob library/app ${image.layer.digest}`)).toBe(1);
    } finally {
      uninstall();
    }
  });
});

describe("the redirect's configuration", () => {
  it("on without the R2 secrets, every request answers 503 naming them, never a value", async () => {
    const res = await send({ ...REDIRECT, R2_SECRET_ACCESS_KEY: undefined, R2_ACCESS_KEY_ID: "" }, "GET", "/v2/");
    expect(res.status).toBe(503);
    expect(res.text).toContain("R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY");
    expect(res.text).not.toContain(KEYS.R2_SECRET_ACCESS_KEY);
  });

  it("names a missing bucket or account, and bounds the lifetime by a registry token's", () => {
    const keys = (vars: Record<string, string>) => configIssues({ ...vars, ...KEYS }).map((issue) => issue.key);
    expect(keys({ BLOB_REDIRECT: "true", R2_ACCOUNT_ID: ACCOUNT })).toEqual(["R2_BUCKET_NAME"]);
    expect(keys({ BLOB_REDIRECT: "true", R2_BUCKET_NAME: "b-1" })).toEqual(["R2_ACCOUNT_ID"]);
    expect(keys({ ...REDIRECT, R2_ACCOUNT_ID: "", R2_S3_ENDPOINT: "https://x.example" })).toEqual([]);
    expect(keys({ R2_S3_ENDPOINT: "https://x.example/bucket" })).toEqual(["R2_S3_ENDPOINT"]);
    expect(keys({ BLOB_REDIRECT_TTL_SECONDS: String(TOKEN_TTL_SECONDS) })).toEqual([]);
    expect(keys({ BLOB_REDIRECT_TTL_SECONDS: String(TOKEN_TTL_SECONDS + 1) })).toEqual(["BLOB_REDIRECT_TTL_SECONDS"]);
    // npm run check-config sees wrangler.toml only: secrets are not asked of it.
    expect(
      configIssues({ ...REDIRECT, ...{ R2_ACCESS_KEY_ID: undefined, R2_SECRET_ACCESS_KEY: undefined } }, null),
    ).toEqual([]);
    // The validate endpoints look for them among the running Worker's secrets (the second argument).
    const { R2_ACCESS_KEY_ID: _id, R2_SECRET_ACCESS_KEY: _secret, ...vars } = REDIRECT;
    expect(configIssues(vars, KEYS)).toEqual([]);
    expect(configIssues(vars, {}).map((issue) => issue.key)).toEqual(["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]);
    // Off, nothing is asked for.
    expect(configIssues({ R2_ACCOUNT_ID: "" })).toEqual([]);
  });
});
