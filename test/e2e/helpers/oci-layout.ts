/**
 * OCI image layouts on disk (image-spec "OCI Image Layout"), built by hand so that the tests know
 * every byte: images with random-content layers, multi-arch indexes, and a reader that gives back
 * what a layout holds (its refs and each blob's digest as recomputed from the file).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

export const MediaTypes = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

const REF_NAME = "org.opencontainers.image.ref.name";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// tar

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** A ustar archive of regular files (deterministic: mode 0644, uid/gid 0, mtime 0). */
export function tarFiles(files: Record<string, Uint8Array>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
    const header = Buffer.alloc(512);
    header.write(name, 0, "utf8");
    header.write(octal(0o644, 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(content.byteLength, 12), 124);
    header.write(octal(0, 12), 136);
    header.write("        ", 148); // checksum placeholder: eight spaces
    header.write("0", 156);
    header.write("ustar\0" + "00", 257, "binary");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${octal(sum, 7)} `, 148);
    blocks.push(header, Buffer.from(content), Buffer.alloc((512 - (content.byteLength % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The regular files of a tar archive (ustar, GNU and PAX long names are handled). */
export function untar(archive: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(archive);
  const files = new Map<string, Buffer>();
  let longName: string | null = null;
  for (let at = 0; at + 512 <= buf.length; ) {
    const header = buf.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) => header.toString("utf8", start, start + len).replace(/\0.*$/s, "");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1) || "0";
    const prefix = field(345, 155);
    const body = buf.subarray(at + 512, at + 512 + size);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = null;
    if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
    else if (type === "x") {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
      if (match) longName = match[1]!;
    } else if (type === "0" || type === "\0") {
      name = name.replace(/^\.\//, "").replace(/^\//, "");
      files.set(name, Buffer.from(body));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// writing layouts

export class LayoutWriter {
  readonly refs: Descriptor[] = [];

  constructor(readonly dir: string) {}

  async init(): Promise<this> {
    await mkdir(path.join(this.dir, "blobs", "sha256"), { recursive: true });
    await writeFile(path.join(this.dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    return this;
  }

  async blob(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = sha256(bytes);
    await writeFile(path.join(this.dir, "blobs", "sha256", digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  async json(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.blob(Buffer.from(JSON.stringify(value)), mediaType);
  }

  /** Names `descriptor` as `tag` in index.json. */
  async tag(descriptor: Descriptor, tag: string): Promise<void> {
    this.refs.push({ ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: tag } });
    await writeFile(
      path.join(this.dir, "index.json"),
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.index, manifests: this.refs }),
    );
  }
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** The uncompressed files of each layer, in order. */
  files: Record<string, Uint8Array>[];
}

export interface ImageOptions {
  layers?: number;
  os?: string;
  architecture?: string;
  /** Bytes of random content per layer file (defaults vary per layer). */
  layerSize?: (index: number) => number;
}

/** An image of `layers` gzip layers of random files, its config with matching diff_ids. */
export async function writeImage(layout: LayoutWriter, options: ImageOptions = {}): Promise<BuiltImage> {
  const count = options.layers ?? 3;
  const os = options.os ?? "linux";
  const architecture = options.architecture ?? "amd64";
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  const files: Record<string, Uint8Array>[] = [];
  for (let i = 0; i < count; i++) {
    const size = options.layerSize?.(i) ?? 1024 + i * 70_001;
    const layerFiles = { [`layer${i}/data-${randomBytes(4).toString("hex")}.bin`]: randomBytes(size) };
    const tar = tarFiles(layerFiles);
    diffIds.push(sha256(tar));
    files.push(layerFiles);
    layers.push(await layout.blob(gzipSync(tar), MediaTypes.layer));
  }
  const config = await layout.json(
    {
      created: "2024-01-01T00:00:00Z",
      architecture,
      os,
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `layer ${i}` })),
    },
    MediaTypes.config,
  );
  const manifest = await layout.json(
    { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers },
    MediaTypes.manifest,
  );
  return { manifest, config, layers, files };
}

/** A layout holding one multi-layer image tagged `tag`. */
export async function buildImageLayout(dir: string, tag: string, options: ImageOptions = {}): Promise<BuiltImage> {
  const layout = await new LayoutWriter(dir).init();
  const image = await writeImage(layout, options);
  await layout.tag(image.manifest, tag);
  return image;
}

export interface BuiltIndex {
  index: Descriptor;
  images: BuiltImage[];
}

/** A layout holding a linux/amd64 + linux/arm64 image index tagged `tag`. */
export async function buildMultiArchLayout(dir: string, tag: string): Promise<BuiltIndex> {
  const layout = await new LayoutWriter(dir).init();
  const images: BuiltImage[] = [];
  const entries: Descriptor[] = [];
  for (const architecture of ["amd64", "arm64"]) {
    const image = await writeImage(layout, { layers: 2, architecture, layerSize: (i) => 2048 + i * 33_333 });
    images.push(image);
    entries.push({ ...image.manifest, platform: { os: "linux", architecture } });
  }
  const index = await layout.json(
    { schemaVersion: 2, mediaType: MediaTypes.index, manifests: entries },
    MediaTypes.index,
  );
  await layout.tag(index, tag);
  return { index, images };
}

// ---------------------------------------------------------------------------------------------
// reading layouts

export interface ReadLayout {
  /** index.json's descriptors by their ref name. */
  refs: Map<string, Descriptor>;
  /** Every blob file: its name (the digest it claims) → the digest of its bytes. */
  blobs: Map<string, string>;
  read(digest: string): Promise<Buffer>;
  readJson<T = any>(digest: string): Promise<T>;
}

export async function readLayout(dir: string): Promise<ReadLayout> {
  const index = JSON.parse(await readFile(path.join(dir, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const refs = new Map<string, Descriptor>();
  for (const d of index.manifests) refs.set(d.annotations?.[REF_NAME] ?? "", d);
  const blobs = new Map<string, string>();
  const blobDir = path.join(dir, "blobs", "sha256");
  for (const name of await readdir(blobDir)) {
    blobs.set(`sha256:${name}`, sha256(await readFile(path.join(blobDir, name))));
  }
  const read = (digest: string) => readFile(path.join(blobDir, digest.replace(/^sha256:/, "")));
  return { refs, blobs, read, readJson: async (digest) => JSON.parse((await read(digest)).toString("utf8")) };
}

/** Every digest reachable from `root` (the manifest itself, child manifests, configs, layers). */
export async function reachableDigests(layout: ReadLayout, root: string): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (digest: string) => {
    if (seen.has(digest)) return;
    seen.add(digest);
    const doc = await layout.readJson(digest);
    for (const child of (doc.manifests ?? []) as Descriptor[]) await visit(child.digest);
    if (doc.config) seen.add(doc.config.digest);
    for (const layer of (doc.layers ?? []) as Descriptor[]) seen.add(layer.digest);
  };
  await visit(root);
  return [...seen].sort();
}

/** The files of a gzip (or plain) layer blob. */
export function layerFiles(blob: Uint8Array): Map<string, Buffer> {
  const gz = blob[0] === 0x1f && blob[1] === 0x8b;
  return untar(gz ? gunzipSync(blob) : blob);
}
