/**
 * Proxy-cache helpers: the Worker with FEATURE_PROXY_CACHE on (wrangler.toml keeps it off, as
 * Quay), and a fake upstream registry standing in for src/upstream's client (src/proxy/upstream.ts
 * `useUpstreamFactory`). The Worker, its Durable Objects and the tests share one isolate, so the
 * fake answers the ProxyBlobDO's fetches too. The fake counts what it is asked, as the e2e tests
 * count at a real upstream.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../src/index";
import { sha256Digest, type Digest } from "../../../src/lib/digest";
import { hex } from "../../../src/lib/encoding";
import { useUpstreamFactory } from "../../../src/proxy/upstream";
import type {
  UpstreamBlob,
  UpstreamConfig,
  UpstreamError,
  UpstreamManifest,
  UpstreamRegistry,
} from "../../../src/upstream/registry";
import { answerOf } from "./api";
import { BASE } from "./registry";

export const proxyEnv = (): Env => ({ ...env, FEATURE_PROXY_CACHE: "true" }) as unknown as Env;

/** A request through the whole Worker with FEATURE_PROXY_CACHE on; the body is read before the context ends. */
export async function proxyWorker(
  method: string,
  path: string,
  init: { token?: string; headers?: Record<string, string>; body?: BodyInit | null; env?: Env } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers, body: init.body ?? null }),
    init.env ?? proxyEnv(),
    ctx,
  );
  const body = await res.arrayBuffer();
  // A pull's counter waits up to 10 s under waitUntil (src/registry/pull-counts.ts): only API
  // calls, whose events the tests read, are waited for.
  if (!path.startsWith("/v2/")) await waitOnExecutionContext(ctx);
  return new Response(method === "HEAD" || res.status === 204 ? null : body, {
    status: res.status,
    headers: res.headers,
  });
}

/** A JSON API call on {@link proxyWorker}: status and parsed body. */
/** A registry token of `username` to pull `repository`, from the Worker with FEATURE_PROXY_CACHE on. */
export async function proxyPullToken(username: string, password: string, repository: string): Promise<string> {
  const res = await proxyWorker("GET", `/v2/auth?scope=repository:${repository}:pull`, {
    headers: { Authorization: `Basic ${btoa(`${username}:${password}`)}` },
  });
  if (res.status !== 200) throw new Error(`/v2/auth answered ${res.status} for ${username}`);
  return ((await res.json()) as { token: string }).token;
}

export async function proxyApi(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  targetEnv?: Env,
  headers: Record<string, string> = {},
) {
  const res = await proxyWorker(method, `/api/v1${path}`, {
    token,
    env: targetEnv,
    headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
  });
  const { status, json } = await answerOf(res);
  return { status, json };
}

/** The sha256 digest of `bytes`, as manifests name blobs. */
export async function digestOf(bytes: Uint8Array): Promise<Digest> {
  return sha256Digest(hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))));
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export interface FakeImage {
  digest: Digest;
  bytes: Uint8Array;
  config: { digest: Digest; bytes: Uint8Array };
  layer: { digest: Digest; bytes: Uint8Array };
}

/** An upstream registry in memory, answering as the client interface says, and counting. */
export class FakeUpstream implements UpstreamRegistry {
  readonly configs: UpstreamConfig[] = [];
  readonly tags = new Map<string, Digest>();
  readonly manifests = new Map<Digest, { bytes: Uint8Array; mediaType: string }>();
  readonly blobs = new Map<Digest, Uint8Array>();
  /** Every call, as `method repository reference`. */
  readonly calls: string[] = [];
  /** When set, every call fails with it (the upstream is down). */
  failure: UpstreamError | null = null;
  pingAnswer: "valid" | "anonymous" = "valid";
  /** Milliseconds a blob's body waits before its bytes, so that concurrent misses overlap. */
  blobDelayMs = 0;

  /** Makes this the client every proxy cache uses until the returned function is called. */
  install(): () => void {
    return useUpstreamFactory((_env, config) => {
      this.configs.push(config);
      return this;
    });
  }

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }

  /** Puts a one-layer image under `repository:tag`; `layerSize` bytes of layer. */
  async image(repository: string, tag: string, layerSize = 64): Promise<FakeImage> {
    const config = new TextEncoder().encode(
      JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() }),
    );
    const layer = new Uint8Array(layerSize);
    for (let i = 0; i < layerSize; i += 65_536) crypto.getRandomValues(layer.subarray(i, i + 65_536));
    const configDigest = await digestOf(config);
    const layerDigest = await digestOf(layer);
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: config.byteLength,
        },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.byteLength }],
      }),
    );
    const digest = await digestOf(manifest);
    this.blobs.set(configDigest, config);
    this.blobs.set(layerDigest, layer);
    this.manifests.set(digest, { bytes: manifest, mediaType: OCI_MANIFEST });
    this.tags.set(`${repository}:${tag}`, digest);
    return {
      digest,
      bytes: manifest,
      config: { digest: configDigest, bytes: config },
      layer: { digest: layerDigest, bytes: layer },
    };
  }

  #call(entry: string): void {
    this.calls.push(entry);
    if (this.failure) throw this.failure;
  }

  #resolve(repository: string, reference: string): Digest | undefined {
    if (reference.startsWith("sha256:"))
      return this.manifests.has(reference as Digest) ? (reference as Digest) : undefined;
    return this.tags.get(`${repository}:${reference}`);
  }

  async ping(): Promise<"valid" | "anonymous"> {
    this.#call("ping");
    return this.pingAnswer;
  }

  async headManifest(repository: string, reference: string): Promise<UpstreamManifest | null> {
    this.#call(`headManifest ${repository} ${reference}`);
    const digest = this.#resolve(repository, reference);
    const found = digest && this.manifests.get(digest);
    return found ? { digest: digest!, mediaType: found.mediaType, size: found.bytes.byteLength } : null;
  }

  async getManifest(repository: string, reference: string) {
    this.#call(`getManifest ${repository} ${reference}`);
    const digest = this.#resolve(repository, reference);
    const found = digest && this.manifests.get(digest);
    return found
      ? { digest: digest!, mediaType: found.mediaType, size: found.bytes.byteLength, bytes: found.bytes }
      : null;
  }

  async getBlob(repository: string, digest: Digest): Promise<UpstreamBlob | null> {
    this.#call(`getBlob ${repository} ${digest}`);
    const bytes = this.blobs.get(digest);
    if (!bytes) return null;
    const delay = this.blobDelayMs;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        controller.enqueue(bytes);
        controller.close();
      },
    });
    return { size: bytes.byteLength, body };
  }

  async listTags(repository: string): Promise<string[] | null> {
    this.#call(`listTags ${repository}`);
    return [...this.tags.keys()]
      .filter((k) => k.startsWith(`${repository}:`))
      .map((k) => k.slice(repository.length + 1));
  }
}
