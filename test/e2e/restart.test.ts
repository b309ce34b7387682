/**
 * `npm start` keeps its state across restarts: what was pushed before a stop is pulled
 * byte-identical after the next start, and an upload left open resumes.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { startWharf } from "./helpers/server";

const sha256 = (data: Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

describe("npm start across a restart", () => {
  it("keeps blobs, manifests, tags and open uploads", async () => {
    const first = await startWharf();
    const layer = randomBytes(300_000);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const name = "restart/app";
    let location: string;
    let manifestDigest: string;
    try {
      for (const blob of [layer, config]) {
        const res = await first.login.fetch(`${first.url}/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, {
          method: "POST",
          body: blob,
        });
        expect(res.status).toBe(201);
      }
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
      });
      const put = await first.login.fetch(`${first.url}/v2/${name}/manifests/v1`, {
        method: "PUT",
        body: manifest,
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      });
      expect(put.status).toBe(201);
      manifestDigest = put.headers.get("docker-content-digest")!;
      const opened = await first.login.fetch(`${first.url}/v2/${name}/blobs/uploads/`, { method: "POST" });
      location = opened.headers.get("location")!;
      const patched = await first.login.fetch(`${first.url}${location}`, {
        method: "PATCH",
        body: layer.subarray(0, 1000),
      });
      expect(patched.status).toBe(202);
    } finally {
      await first.stop({ keepState: true });
    }

    const second = await startWharf({ stateDir: first.stateDir });
    try {
      const tags = await (await second.login.fetch(`${second.url}/v2/${name}/tags/list`)).json();
      expect(tags).toEqual({ name, tags: ["v1"] });
      const manifest = await second.login.fetch(`${second.url}/v2/${name}/manifests/v1`);
      expect(manifest.headers.get("docker-content-digest")).toBe(manifestDigest);
      const blob = new Uint8Array(
        await (await second.login.fetch(`${second.url}/v2/${name}/blobs/${sha256(layer)}`)).arrayBuffer(),
      );
      expect(sha256(blob)).toBe(sha256(layer));

      const status = await second.login.fetch(`${second.url}${location}`);
      expect(status.status).toBe(204);
      expect(status.headers.get("range")).toBe("0-999");
      const rest = await second.login.fetch(`${second.url}${location}?digest=${sha256(layer)}`, {
        method: "PUT",
        body: layer.subarray(1000),
        headers: { "Content-Range": `1000-${layer.length - 1}` },
      });
      expect(rest.status).toBe(201);
    } finally {
      await second.stop();
    }
  }, 240_000);
});
