/**
 * What `npm run push` reads: an OCI image layout directory (`oci:dir[:tag]`, as skopeo writes) or
 * a docker archive (`docker-archive:file.tar[:tag]`, as `docker save` and `podman save` write).
 * Either becomes a tree of manifests, each with the blobs it needs as byte ranges of files, so
 * the pusher streams every blob from disk and never holds one in memory.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { normalize, readTarIndex, type TarEntry } from "./tar.ts";

export interface BlobRef {
  digest: string;
  size: number;
  /** The file holding the blob, and where in it (a docker archive member) the bytes start. */
  file: string;
  offset: number;
}

export interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  blobs: BlobRef[];
  /** The manifests an index lists, pushed before it. */
  children: ManifestNode[];
}

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const INDEXES = new Set([OCI_INDEX, DOCKER_LIST]);
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REF_NAME = "org.opencontainers.image.ref.name";

export class SourceError extends Error {}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/** One image of a docker archive's manifest.json. */
interface ArchiveImage {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export function sha256Of(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** `transport:path[:tag]`. */
export async function readSource(source: string): Promise<ManifestNode> {
  const match = /^(oci|docker-archive):(.+)$/.exec(source);
  if (!match) {
    throw new SourceError(
      `bad source ${JSON.stringify(source)}: expected oci:<directory>[:tag] or docker-archive:<file.tar>[:tag]`,
    );
  }
  const [, transport, rest] = match as unknown as [string, string, string];
  // The path is the shortest prefix before a colon that exists (a docker archive's tag may be a
  // whole reference, `ns/repo:tag`, colons and all); no such prefix: the whole is the path.
  let where = rest;
  let tag: string | null = null;
  for (let colon = rest.indexOf(":"); colon !== -1; colon = rest.indexOf(":", colon + 1)) {
    if (colon > 0 && (await exists(rest.slice(0, colon)))) {
      where = rest.slice(0, colon);
      tag = rest.slice(colon + 1);
      break;
    }
  }
  if (!(await exists(where))) throw new SourceError(`bad source: ${where} does not exist`);
  return transport === "oci" ? readOciLayout(where, tag) : readDockerArchive(where, tag);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function jsonOf<T>(bytes: Buffer, what: string): Promise<T> {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new SourceError(`bad source: ${what} is not JSON`);
  }
}

// ---- OCI image layout -------------------------------------------------------------------------

async function readOciLayout(dir: string, tag: string | null): Promise<ManifestNode> {
  const indexFile = path.join(dir, "index.json");
  if (!(await exists(indexFile))) throw new SourceError(`bad source: ${dir} is not an OCI layout (no index.json)`);
  const index = await jsonOf<ManifestJson>(await readFile(indexFile), indexFile);
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  const names = manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
  const chosen =
    tag === null
      ? manifests.length === 1
        ? manifests[0]
        : null
      : manifests.find((m) => m.annotations?.[REF_NAME] === tag);
  if (!chosen) {
    const which =
      tag === null ? "no tag given and the layout holds" : `no image tagged ${JSON.stringify(tag)}; it holds`;
    throw new SourceError(
      `bad source: ${dir}: ${which} ${manifests.length} image(s) (tags: ${names.join(", ") || "none"})`,
    );
  }
  return ociManifest(dir, chosen);
}

function blobPath(dir: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new SourceError(`bad source: unsupported digest ${JSON.stringify(digest)}`);
  return path.join(dir, "blobs", "sha256", digest.slice("sha256:".length));
}

async function layoutBlob(dir: string, descriptor: Descriptor): Promise<BlobRef> {
  const file = blobPath(dir, descriptor.digest);
  const info = await stat(file).catch(() => null);
  if (!info) throw new SourceError(`bad source: blob ${descriptor.digest} is missing from ${dir}`);
  if (info.size !== descriptor.size) {
    throw new SourceError(
      `bad source: blob ${descriptor.digest} holds ${info.size} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  return { digest: descriptor.digest, size: info.size, file, offset: 0 };
}

async function ociManifest(dir: string, descriptor: Descriptor): Promise<ManifestNode> {
  const bytes = await readFile(blobPath(dir, descriptor.digest)).catch(() => {
    throw new SourceError(`bad source: manifest ${descriptor.digest} is missing from ${dir}`);
  });
  if (sha256Of(bytes) !== descriptor.digest)
    throw new SourceError(`bad source: manifest ${descriptor.digest} does not match its digest`);
  const manifest = await jsonOf<ManifestJson>(bytes, `manifest ${descriptor.digest}`);
  const mediaType: string = manifest.mediaType ?? descriptor.mediaType ?? OCI_MANIFEST;
  if (INDEXES.has(mediaType)) {
    const children = await Promise.all((manifest.manifests ?? []).map((child) => ociManifest(dir, child)));
    return { digest: descriptor.digest, mediaType, bytes, blobs: [], children };
  }
  const descriptors = [manifest.config, ...(manifest.layers ?? [])].filter((d): d is Descriptor => Boolean(d));
  const blobs = await Promise.all(descriptors.map((d) => layoutBlob(dir, d)));
  return { digest: descriptor.digest, mediaType, bytes, blobs, children: [] };
}

// ---- docker archive ---------------------------------------------------------------------------

async function readDockerArchive(file: string, tag: string | null): Promise<ManifestNode> {
  let members: Map<string, TarEntry>;
  try {
    members = await readTarIndex(file);
  } catch (err) {
    throw new SourceError(`bad source: ${file}: ${(err as Error).message}`);
  }
  const member = (name: string) => {
    const entry = members.get(normalize(name));
    if (!entry) throw new SourceError(`bad source: ${file} has no ${name}`);
    return entry;
  };
  const read = async (entry: TarEntry) => {
    const handle = await open(file, "r");
    try {
      const data = Buffer.alloc(entry.size);
      await handle.read(data, 0, entry.size, entry.offset);
      return data;
    } finally {
      await handle.close();
    }
  };
  const images = await jsonOf<ArchiveImage[]>(await read(member("manifest.json")), `${file}'s manifest.json`);
  const tags = images.flatMap((image) => image.RepoTags ?? []);
  // skopeo writes `docker.io/ns/repo:tag` where docker writes `ns/repo:tag`: both match either.
  const short = (name: string) => name.replace(/^docker\.io\//, "").replace(/^library\//, "");
  const matches = (repoTag: string) =>
    tag !== null &&
    (short(repoTag) === short(tag) || (!tag.includes(":") && repoTag.slice(repoTag.lastIndexOf(":") + 1) === tag));
  const image =
    tag === null ? (images.length === 1 ? images[0] : null) : images.find((i) => (i.RepoTags ?? []).some(matches));
  if (!image) {
    const which =
      tag === null ? "no tag given and the archive holds" : `no image tagged ${JSON.stringify(tag)}; it holds`;
    throw new SourceError(
      `bad source: ${file}: ${which} ${images.length} image(s) (tags: ${tags.join(", ") || "none"})`,
    );
  }
  const configBytes = await read(member(image.Config));
  const config = {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: sha256Of(configBytes),
    size: configBytes.length,
  };
  const layers: BlobRef[] = [];
  const layerDescriptors = [];
  for (const name of image.Layers as string[]) {
    const entry = member(name);
    const { digest, head } = await digestOfRange(file, entry.offset, entry.size);
    layers.push({ digest, size: entry.size, file, offset: entry.offset });
    layerDescriptors.push({ mediaType: layerMediaType(head), digest, size: entry.size });
  }
  // The OCI image manifest: docker's config is an OCI image configuration, and the layers go as the
  // archive holds them (docker and podman save uncompressed tars; newer docker may gzip).
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: layerDescriptors }),
  );
  const configRef: BlobRef = { digest: config.digest, size: config.size, file, offset: member(image.Config).offset };
  return { digest: sha256Of(bytes), mediaType: OCI_MANIFEST, bytes, blobs: [configRef, ...layers], children: [] };
}

/** A layer's media type from its first bytes: gzip, zstd or a plain tar. */
function layerMediaType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (head.readUInt32LE(0) === 0xfd2fb528) return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

/** The SHA-256 of `size` bytes of `file` from `offset`, streamed, and the first bytes. */
async function digestOfRange(file: string, offset: number, size: number): Promise<{ digest: string; head: Buffer }> {
  const hash = createHash("sha256");
  let head = Buffer.alloc(0);
  if (size > 0) {
    for await (const chunk of createReadStream(file, {
      start: offset,
      end: offset + size - 1,
      highWaterMark: 1 << 20,
    })) {
      if (head.length < 4) head = Buffer.concat([head, chunk as Buffer]).subarray(0, 4);
      hash.update(chunk as Buffer);
    }
  }
  return { digest: `sha256:${hash.digest("hex")}`, head: Buffer.concat([head, Buffer.alloc(4)]) };
}
