import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain script of the repository, without types.
import { secretNotes } from "../../scripts/deploy/plan.mjs";
import { presignGet } from "../../src/storage/presign";
import { login, Podman, registryHost, skopeoCopy } from "./helpers/clients";
import { DockerEngine } from "./helpers/daemons";
import { type BuiltImage, buildImageLayout, readLayout, sha256 } from "./helpers/oci-layout";
import { type RunningServer, startWharf } from "./helpers/server";

let wharf: RunningServer;
let tmp: string;
let host: string;
let image: BuiltImage;
const tag = `r${randomBytes(3).toString("hex")}`;
const repository = "redirect/app";

beforeAll(async () => {
  wharf = await startWharf({ env: { BLOB_REDIRECT: "true" } });
  host = registryHost(wharf.url);
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-redirect-"));
  await login(host, await wharf.credentialsFor("redirect"), path.join(tmp, "auth.json"));
  // Three gzip layers, one of 3 MiB; pushed with skopeo (pushes are not redirected).
  const layout = path.join(tmp, "source");
  image = await buildImageLayout(layout, tag, { layers: 3, layerSize: (i) => (i === 2 ? 3 << 20 : 4096) });
  await skopeoCopy(`oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`);
}, 180_000);

afterAll(async () => {
  await wharf?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The 307 the registry answers a blob GET with, as the namespace's owner. */
async function redirectOf(digest: string): Promise<URL> {
  const res = await wharf.login.fetch(`/v2/${repository}/blobs/${digest}`, { redirect: "manual" });
  expect(res.status).toBe(307);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  return new URL(res.headers.get("Location")!);
}

/** The local S3 key pair npm start generated for this state directory. */
async function localKeys() {
  const secrets = JSON.parse(await readFile(path.join(wharf.stateDir, "secrets.json"), "utf8"));
  return { accessKeyId: secrets.R2_ACCESS_KEY_ID as string, secretAccessKey: secrets.R2_SECRET_ACCESS_KEY as string };
}

/** How many GETs the stand-in has served whole (its access log, scripts/r2-s3-local.mjs). */
const servedWhole = () => wharf.output().match(/r2-s3-local: GET \/wharf-blobs\/\S+ 200/g)?.length ?? 0;

/** Runs `pull` and expects the stand-in to have served the config and every layer meanwhile. */
async function throughStandIn(pull: () => Promise<void>): Promise<void> {
  const before = servedWhole();
  await pull();
  // The log reaches npm start's output a moment after the response.
  const deadline = Date.now() + 5000;
  while (servedWhole() - before < image.layers.length + 1 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(servedWhole() - before).toBeGreaterThanOrEqual(image.layers.length + 1);
}

const s3Code = async (res: Response) => (await res.text()).match(/<Code>([^<]+)<\/Code>/)?.[1];

describe("the redirect and the local S3 stand-in", () => {
  it("redirects a blob GET to another host that serves its bytes, whole and ranged; HEAD stays", async () => {
    const layer = image.layers[2]!;
    const location = await redirectOf(layer.digest);
    expect(location.hostname).not.toBe(new URL(wharf.url).hostname);
    expect(location.pathname).toMatch(/^\/wharf-blobs\//);
    const whole = await fetch(location);
    expect(whole.status).toBe(200);
    const bytes = new Uint8Array(await whole.arrayBuffer());
    expect([bytes.byteLength, sha256(bytes)]).toEqual([layer.size, layer.digest]);
    const ranged = await fetch(location, { headers: { Range: "bytes=100-199" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("Content-Range")).toBe(`bytes 100-199/${layer.size}`);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    const head = await wharf.login.fetch(`/v2/${repository}/blobs/${layer.digest}`, { method: "HEAD" });
    expect([head.status, head.headers.get("Location")]).toEqual([200, null]);
  });

  it("refuses a tampered, re-pathed, expired or doubly authenticated URL", async () => {
    const location = await redirectOf(image.layers[0]!.digest);
    const tampered = new URL(location);
    const signature = tampered.searchParams.get("X-Amz-Signature")!;
    tampered.searchParams.set("X-Amz-Signature", `${signature[0] === "0" ? "1" : "0"}${signature.slice(1)}`);
    const other = new URL(location);
    other.pathname = other.pathname.replace(image.layers[0]!.digest.slice(7), image.layers[1]!.digest.slice(7));
    const longer = new URL(location);
    longer.searchParams.set("X-Amz-Expires", "604800");
    for (const url of [tampered, other, longer]) {
      const res = await fetch(url);
      expect(res.status).toBe(403);
      expect(res.headers.get("Content-Type")).toBe("application/xml");
      expect(await s3Code(res)).toBe("SignatureDoesNotMatch");
    }
    // Signed right but 400 s ago for 300 s: expired.
    const expired = await presignGet({
      endpoint: location.origin,
      path: location.pathname.slice(1).split("/"),
      region: "auto",
      credentials: await localKeys(),
      expiresSeconds: 300,
      nowMs: Date.now() - 400_000,
    });
    const late = await fetch(expired);
    expect([late.status, await s3Code(late)]).toEqual([403, "AccessDenied"]);
    const twice = await fetch(location, { headers: { Authorization: "Bearer x" } });
    expect(twice.status).toBe(403);
    // Another key pair's URL is refused too.
    const stranger = await presignGet({
      endpoint: location.origin,
      path: location.pathname.slice(1).split("/"),
      region: "auto",
      credentials: { accessKeyId: "someone", secretAccessKey: "else" },
      expiresSeconds: 300,
      nowMs: Date.now(),
    });
    expect(await s3Code(await fetch(stranger))).toBe("InvalidAccessKeyId");
  });

  it("skopeo copies the image out through the redirect", async () => {
    const dest = path.join(tmp, "skopeo-out");
    await throughStandIn(() => skopeoCopy(`docker://${host}/${repository}:${tag}`, `oci:${dest}:${tag}`));
    const layout = await readLayout(dest);
    for (const layer of image.layers) expect(layout.blobs.get(layer.digest)).toBe(layer.digest);
  });

  it("podman pulls through the redirect", async () => {
    const podman = await Podman.create();
    try {
      let id = "";
      await throughStandIn(async () => {
        id = await podman.pull(`${host}/${repository}:${tag}`);
      });
      expect(`sha256:${id}`).toBe(image.config.digest);
    } finally {
      await podman.dispose();
    }
  });

  it("the Docker engine pulls through the redirect", async () => {
    const docker = await DockerEngine.start();
    try {
      await docker.login(host, await wharf.credentialsFor("redirect"));
      await throughStandIn(async () => {
        await docker.docker(["pull", `${host}/${repository}:${tag}`], { timeoutMs: 180_000 });
      });
      expect(await docker.imageId(`${host}/${repository}:${tag}`)).toBe(image.config.digest);
    } finally {
      await docker.stop();
    }
  });

  it("`npm run deploy` names the R2 secrets and a bucket name that is not the bound bucket's", () => {
    const config = (vars: Record<string, string>) => ({
      bucketName: "wharf-blobs",
      vars: (name: string) => vars[name] ?? "",
    });
    const on = { BLOB_REDIRECT: "true", R2_BUCKET_NAME: "wharf-blobs" };
    expect(secretNotes(config(on), ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"])).toEqual([]);
    expect(secretNotes(config(on), ["R2_ACCESS_KEY_ID"])).toEqual([
      "BLOB_REDIRECT is on: `npx wrangler secret put R2_SECRET_ACCESS_KEY` (an R2 API token's S3 credentials)",
    ]);
    expect(
      secretNotes(config({ ...on, R2_BUCKET_NAME: "other" }), ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]),
    ).toEqual(['BLOB_REDIRECT is on: R2_BUCKET_NAME should be "wharf-blobs", the BLOBS bucket']);
    expect(secretNotes(config({ R2_BUCKET_NAME: "other" }), [])).toEqual([]);
  });
});
