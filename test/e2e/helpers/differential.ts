/**
 * Differential testing against the reference registry: a flow is one request sequence, run
 * identically against distribution (`reference`) and Wharf, each response reduced to a
 * {@link View} of what the OCI distribution spec defines (status, the spec's headers, the
 * error code). Views must be equal step by step, except where a flow declares an
 * {@link Allowance}: a difference the spec permits, with both sides checked against the
 * allowed set and the difference recorded for the report.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectWharf } from "./server";
import { startReferenceRegistry, type ReferenceRegistry } from "./reference-registry";

export type Side = "reference" | "wharf";

export const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** What is compared of one response. Absent keys do not apply to the step. */
export interface View {
  status: number;
  apiVersion: string | null;
  dockerContentDigest: string | null;
  location: string | null;
  uploadUuid: boolean;
  contentLength?: string | null;
  contentType?: string | null;
  range?: string | null;
  contentRange?: string | null;
  link?: string | null;
  /** The first OCI error `code` of a JSON error body, "<non-JSON body>" for another body. */
  code?: string;
  /** sha256 of the body, for steps that keep it. */
  body?: string;
  /** The `tags` of a tags list. */
  tags?: string[];
}
export type Field = keyof View;

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The Location header resolved to an absolute URL, to follow (distribution needs its `_state`). */
  location: string | null;
}

export interface SendInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Compare the body's bytes too. */
  keepBody?: boolean;
}

interface Step {
  label: string;
  view: View;
}

/** One side's run of a flow; `repo` is the same on both sides. */
export class Session {
  readonly steps: Step[] = [];

  constructor(
    readonly side: Side,
    readonly base: string,
    readonly repo: string,
    /** How requests go out: Wharf's side logs in as the namespace's owner (registry-auth.ts). */
    readonly fetcher: (url: URL, init: RequestInit) => Promise<Response> = fetch,
  ) {}

  /** Bytes unique to this run, flow and `name`, identical on both sides. */
  bytes(name: string, size = 64): Buffer {
    const seed = `${this.repo}:${name}:`;
    return Buffer.from(seed.padEnd(Math.max(size, seed.length), "."));
  }

  /**
   * Sends one request. `label` names the step for comparison; null sends it unrecorded (for
   * catching up after an allowed divergence). `target` is a path or an absolute URL.
   */
  async send(label: string | null, method: string, target: string, init: SendInit = {}): Promise<Reply> {
    const url = new URL(target, this.base);
    // wrangler dev (miniflare) gzips untyped or textual answers as Cloudflare's edge would;
    // identity keeps Content-Length comparable on both sides.
    const headers = { "Accept-Encoding": "identity", ...init.headers };
    const res = await this.fetcher(url, {
      method,
      headers,
      body: init.body,
      redirect: "manual",
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
    const body = Buffer.from(await res.arrayBuffer());
    const location = res.headers.get("Location");
    const reply: Reply = {
      status: res.status,
      headers: res.headers,
      body,
      location: location && new URL(location, url).href,
    };
    if (label !== null) {
      if (this.steps.some((s) => s.label === label)) throw new Error(`duplicate step label ${label}`);
      this.steps.push({ label, view: viewOf(method, url, reply, init.keepBody ?? false) });
    }
    return reply;
  }
}

function bareType(value: string | null): string | null {
  return value === null ? null : value.split(";")[0]!.trim();
}

function viewOf(method: string, url: URL, reply: Reply, keepBody: boolean): View {
  const h = reply.headers;
  const ok = reply.status >= 200 && reply.status < 300;
  const view: View = {
    status: reply.status,
    apiVersion: h.get("Docker-Distribution-API-Version"),
    dockerContentDigest: h.get("Docker-Content-Digest"),
    // Either side may answer relative or absolute; distribution adds a `_state` query.
    location:
      reply.location && new URL(reply.location).pathname.replace(/\/blobs\/uploads\/[^/]+$/, "/blobs/uploads/<uuid>"),
    uploadUuid: h.has("Docker-Upload-UUID"),
    contentRange: h.get("Content-Range"),
  };
  const tagsList = url.pathname.endsWith("/tags/list");
  // JSON documents differ in whitespace and message text; content and empty answers do not.
  if (ok && !tagsList) view.contentLength = h.get("Content-Length");
  if (ok) view.contentType = bareType(h.get("Content-Type"));
  if (url.pathname.includes("/blobs/uploads")) view.range = h.get("Range");
  if (tagsList) view.link = h.get("Link");
  if (tagsList && reply.status === 200) view.tags = (JSON.parse(reply.body.toString()) as { tags: string[] }).tags;
  if (reply.status >= 400 && method !== "HEAD") view.code = errorCode(reply.body);
  if (keepBody) view.body = sha256(reply.body);
  return view;
}

function errorCode(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString()) as { errors?: { code?: string }[] };
    return parsed.errors?.[0]?.code ?? "<JSON without errors[].code>";
  } catch {
    return "<non-JSON body>";
  }
}

/** A difference the spec permits on one step. */
export interface Allowance {
  /** Fields that may differ on this step. */
  fields: Field[];
  /** Why, citing the spec. */
  reason: string;
  /** Both sides must still be in the allowed set. */
  check(reference: View, wharf: View): void;
}

export interface Flow {
  name: string;
  run(s: Session): Promise<void>;
  allow?: Record<string, Allowance>;
}

export interface Targets {
  reference: string;
  wharf: string;
  wharfFetch: (url: URL, init: RequestInit) => Promise<Response>;
  /** Unique per run, so repositories never collide with earlier runs or other tests. */
  runId: string;
}

/** Runs `flow` on both sides and compares; returns the allowed differences it observed. */
export async function runDifferential(flow: Flow, targets: Targets): Promise<string[]> {
  const slug = flow.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  const repo = `diff-${targets.runId}/${slug}`;
  const reference = new Session("reference", targets.reference, repo);
  await flow.run(reference);
  const wharf = new Session("wharf", targets.wharf, repo, targets.wharfFetch);
  await flow.run(wharf);

  const labels = reference.steps.map((s) => s.label);
  expect(
    wharf.steps.map((s) => s.label),
    `${flow.name}: step sequence`,
  ).toEqual(labels);
  for (const label of Object.keys(flow.allow ?? {})) {
    expect(labels, `${flow.name}: allowance for an unknown step`).toContain(label);
  }

  const differences: string[] = [];
  reference.steps.forEach(({ label, view: ref }, i) => {
    const ours = { ...wharf.steps[i]!.view };
    const theirs = { ...ref };
    const allowance = flow.allow?.[label];
    if (allowance) {
      allowance.check(theirs, ours);
      const differing: string[] = [];
      for (const field of allowance.fields) {
        if (JSON.stringify(theirs[field]) !== JSON.stringify(ours[field])) {
          differing.push(`${field} ${JSON.stringify(theirs[field])} vs ${JSON.stringify(ours[field])}`);
        }
        delete theirs[field];
        delete ours[field];
      }
      if (differing.length) {
        differences.push(
          `${flow.name} / ${label}: reference vs wharf: ${differing.join("; ")}\n    because ${allowance.reason}`,
        );
      }
    }
    expect(ours, `${flow.name} / ${label}`).toEqual(theirs);
  });
  return differences;
}

// ---- Fixtures shared by the flows -------------------------------------------------------------

/** POST then PUT with the whole body (distribution-spec "POST then PUT"), identical on both sides. */
export async function pushBlob(s: Session, label: string | null, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const post = await s.send(label && `${label}: POST`, "POST", `/v2/${s.repo}/blobs/uploads/`);
  expect(post.status, `${s.side}: open upload`).toBe(202);
  const put = await s.send(label && `${label}: PUT`, "PUT", withQuery(post.location!, { digest }), {
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  expect(put.status, `${s.side}: close upload`).toBe(201);
  return digest;
}

export function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

export interface ImageManifest {
  mediaType: string;
  bytes: Buffer;
  digest: string;
}

/** An image manifest (OCI or Docker schema 2) for a config and one layer, pretty-printed. */
export function imageManifest(mediaType: string, config: Buffer, layer: Buffer): ImageManifest {
  const oci = mediaType === OCI_MANIFEST;
  const doc = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json",
      digest: sha256(config),
      size: config.length,
    },
    layers: [
      {
        mediaType: oci
          ? "application/vnd.oci.image.layer.v1.tar+gzip"
          : "application/vnd.docker.image.rootfs.diff.tar.gzip",
        digest: sha256(layer),
        size: layer.length,
      },
    ],
  };
  // Indented on purpose: the registry must store and serve these exact bytes.
  const bytes = Buffer.from(JSON.stringify(doc, null, 3));
  return { mediaType, bytes, digest: sha256(bytes) };
}

/** Config and layer blobs, then the manifest under `tag`; all recorded under `label`. */
export async function pushImage(s: Session, label: string, mediaType: string, tag: string): Promise<ImageManifest> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, comment: s.repo }),
  );
  const layer = s.bytes(`layer-${tag}`, 200);
  await pushBlob(s, `${label} config`, config);
  await pushBlob(s, `${label} layer`, layer);
  const manifest = imageManifest(mediaType, config, layer);
  const put = await s.send(`${label} manifest PUT`, "PUT", `/v2/${s.repo}/manifests/${tag}`, {
    body: manifest.bytes,
    headers: { "Content-Type": mediaType },
  });
  expect(put.status, `${s.side}: push manifest`).toBe(201);
  return manifest;
}

/**
 * Runs each flow as one test against a fresh reference registry and the suite's Wharf, and
 * prints the allowed differences that were observed.
 */
export function describeDifferential(title: string, flows: Flow[]): void {
  describe(`differential: ${title}, distribution 2.8 vs Wharf`, () => {
    let reference: ReferenceRegistry;
    let wharf: Awaited<ReturnType<typeof connectWharf>>;
    const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const differences: string[] = [];

    beforeAll(async () => {
      reference = await startReferenceRegistry();
      wharf = await connectWharf(inject("wharfUrl"), inject("wharfStateDir"));
    });
    afterAll(async () => {
      await reference?.stop();
      if (differences.length) console.info(`allowed differences (${title}):\n  ${differences.join("\n  ")}`);
    });

    for (const flow of flows) {
      it(flow.name, async () => {
        const targets = { reference: reference.url, wharf: wharf.url, wharfFetch: wharf.login.fetch, runId };
        differences.push(...(await runDifferential(flow, targets)));
      });
    }
  });
}
