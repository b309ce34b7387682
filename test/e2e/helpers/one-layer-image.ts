/** A one-layer image pushed over /v2 the way the seed examples' setup needs one. */
import { expect } from "vitest";
import { sha256 } from "./oci-layout";
import type { Credentials } from "./registry-auth";

/**
 * Pushes a one-layer image as `repository:tag` to `base` over /v2, with a token /v2/auth grants
 * `login` for service `hostPort`, and `headers` on every request; its manifest digest.
 */
export async function pushOneLayerImage(
  base: string,
  hostPort: string,
  login: Credentials,
  repository: string,
  tag: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const scope = encodeURIComponent(`repository:${repository}:pull,push`);
  const auth = await fetch(`${base}/v2/auth?service=${encodeURIComponent(hostPort)}&scope=${scope}`, {
    headers: { Authorization: `Basic ${btoa(`${login.username}:${login.password}`)}` },
  });
  expect(auth.status).toBe(200);
  const authorized = { Authorization: `Bearer ${((await auth.json()) as { token: string }).token}`, ...headers };
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
      comment: `${repository}:${tag}`,
    }),
  );
  const layer = Buffer.from(`the layer of ${repository}:${tag}`);
  for (const blob of [config, layer]) {
    const post = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: authorized });
    expect(post.status).toBe(202);
    const location = new URL(post.headers.get("Location")!, base);
    location.searchParams.set("digest", sha256(blob));
    const put = await fetch(location, {
      method: "PUT",
      headers: { ...authorized, "Content-Type": "application/octet-stream" },
      body: blob,
    });
    expect(put.status).toBe(201);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
    }),
  );
  const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...authorized, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return sha256(manifest);
}
