/**
 * Request helpers for route tests: they go through the whole Worker (`exports.default.fetch`),
 * like serverless-registry's `generateManifest`, so every test exercises the real stack.
 */
import { exports } from "cloudflare:workers";

export const BASE = "http://registry.test";

export function request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, ...init }));
}

export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}

/** Pushes a blob with a single POST `?digest=` and returns its digest. */
export async function pushBlob(name: string, data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await sha256(bytes);
  const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: bytes,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(bytes.byteLength) },
  });
  if (res.status !== 201) throw new Error(`pushBlob ${name}: ${res.status} ${await res.text()}`);
  return digest;
}

export interface PushedImage {
  digest: string;
  manifest: string;
  config: string;
  layers: string[];
}

/** Pushes a config, `layers` random layers and an OCI image manifest under `reference`. */
export async function pushImage(
  name: string,
  reference: string,
  options: { layers?: number; extra?: Record<string, unknown>; mediaType?: string } = {},
): Promise<PushedImage> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, n: crypto.randomUUID() });
  const configDigest = await pushBlob(name, config);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (let i = 0; i < (options.layers ?? 1); i++) {
    const bytes = randomBytes(1024 + i);
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await pushBlob(name, bytes), size: bytes.byteLength });
  }
  const mediaType = options.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: new TextEncoder().encode(config).byteLength },
    layers,
    ...options.extra,
  });
  const digest = await pushManifest(name, reference, manifest, mediaType);
  return { digest, manifest, config: configDigest, layers: layers.map((l) => l.digest) };
}

/** PUTs manifest bytes; returns the digest the registry answered. */
export async function pushManifest(name: string, reference: string, body: string, mediaType: string): Promise<string> {
  const res = await request("PUT", `/v2/${name}/manifests/${reference}`, { body, headers: { "Content-Type": mediaType } });
  if (res.status !== 201) throw new Error(`pushManifest ${name}:${reference}: ${res.status} ${await res.text()}`);
  return res.headers.get("Docker-Content-Digest")!;
}

/** The `errors[0].code` of an OCI error body. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code ?? "(none)";
}
