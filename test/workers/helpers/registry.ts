/**
 * Request helpers for route tests: they go through the whole Worker (`exports.default.fetch`),
 * like serverless-registry's `generateManifest`, so every test exercises the real stack.
 */
import { env, exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { type ApiError, apiErrorOf } from "../../../src/routes/api/errors";
import { database } from "../../../src/db/client";
import { DomainError } from "../../../src/errors/domain";
import { teamMembers, teams, users } from "../../../src/db/schema";
import { type Outcome, unwrap } from "../../../src/errors/outcome";
import { signRegistryToken, type AccessEntry, type TokenSubject } from "../../../src/identity/registry-tokens";
import { canonicalRepositoryName, namespaceOf, nameRules } from "../../../src/registry/repository-name";
import { type RegistryError, registryErrorOf } from "../../../src/routes/v2/errors";
import { repositoryOf } from "../../e2e/helpers/registry-auth";

export const BASE = "http://registry.test";

/** How /v2 and /api/v1 would answer a Durable Object's failed outcome (fails the test if it succeeded). */
export function refusalOf(outcome: Outcome<unknown>): { registry: RegistryError; api: ApiError } {
  try {
    unwrap(outcome);
  } catch (err) {
    if (err instanceof DomainError) return { registry: registryErrorOf(err), api: apiErrorOf(err) };
    throw err;
  }
  return expect.fail(`expected a refusal, got ${JSON.stringify(outcome)}`);
}

/** The user route tests act as, unless a test says otherwise. */
export const TESTER = "tester";

/**
 * The subject of the account `username`, created as a plain user when missing (as the e2e
 * `credentialsFor` does): writes are re-authorized against real accounts.
 */
export async function subjectNamed(username: string): Promise<TokenSubject> {
  const db = database(env.DB);
  await db.insert(users).values({ username }).onConflictDoNothing();
  const row = await db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  return { kind: "user", name: username, id: row!.id };
}

/**
 * Who owns `namespace`: the user of that name (created when missing), or for an organization one of
 * its admins (a member of a team with the admin role).
 */
async function ownerSubject(namespace: string): Promise<TokenSubject> {
  const db = database(env.DB);
  const row = await db
    .select({ id: users.id, kind: users.kind })
    .from(users)
    .where(eq(users.username, namespace))
    .get();
  if (row?.kind !== "organization") return subjectNamed(namespace);
  const adminRow = await db
    .select({ id: users.id, name: users.username })
    .from(teamMembers)
    .innerJoin(teams, and(eq(teams.id, teamMembers.teamId), eq(teams.role, "admin"), eq(teams.organizationId, row.id)))
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .get();
  if (!adminRow) throw new Error(`organization ${namespace} has no admin to act as`);
  return { kind: "user", name: adminRow.name, id: adminRow.id };
}

/** A registry token for this registry, signed with the test run's key, granting `access` to `subject` (an account's name, or a subject). */
export async function registryToken(access: AccessEntry[], subject: TokenSubject | string = TESTER): Promise<string> {
  const who = typeof subject === "string" ? await subjectNamed(subject) : subject;
  return (await signRegistryToken(env, new URL(BASE).host, { subject: who, access })).token;
}

/**
 * The token a client would hold for `path`: every action on the repository in it (and pull on a
 * mount's `from`), the catalog scope for `_catalog`, held by the owner of the repository's
 * namespace (a user of that name). What the token service grants is tested in
 * test/workers/v2/auth.test.ts; route tests test the routes.
 */
async function tokenForPath(path: string): Promise<string> {
  const url = new URL(path, BASE);
  const access: AccessEntry[] = [];
  const rules = nameRules(env);
  const name = canonicalRepositoryName(decodeURIComponent(repositoryOf(url.pathname) ?? ""), rules);
  if (name) access.push({ type: "repository", name, actions: ["pull", "push", "delete"] });
  const from = canonicalRepositoryName(url.searchParams.get("from") ?? undefined, rules);
  if (from) access.push({ type: "repository", name: from, actions: ["pull"] });
  if (url.pathname.startsWith("/v2/_catalog")) access.push({ type: "registry", name: "catalog", actions: ["*"] });
  return registryToken(access, name ? await ownerSubject(namespaceOf(name)) : TESTER);
}

/**
 * A request through the whole Worker. /v2 requests carry the token a client would hold for the
 * path unless `init.token` names another (a string) or none (null).
 */
export async function request(
  method: string,
  path: string,
  init: RequestInit & { token?: string | null } = {},
): Promise<Response> {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (path.startsWith("/v2") && token !== null && !headers.has("Authorization")) {
    headers.set("Authorization", `Bearer ${token ?? (await tokenForPath(path))}`);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, ...rest, headers }));
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
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    n: crypto.randomUUID(),
  });
  const configDigest = await pushBlob(name, config);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (let i = 0; i < (options.layers ?? 1); i++) {
    const bytes = randomBytes(1024 + i);
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: await pushBlob(name, bytes),
      size: bytes.byteLength,
    });
  }
  const mediaType = options.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: new TextEncoder().encode(config).byteLength,
    },
    layers,
    ...options.extra,
  });
  const digest = await pushManifest(name, reference, manifest, mediaType);
  return { digest, manifest, config: configDigest, layers: layers.map((l) => l.digest) };
}

/** PUTs manifest bytes; returns the digest the registry answered. */
export async function pushManifest(name: string, reference: string, body: string, mediaType: string): Promise<string> {
  const res = await request("PUT", `/v2/${name}/manifests/${reference}`, {
    body,
    headers: { "Content-Type": mediaType },
  });
  if (res.status !== 201) throw new Error(`pushManifest ${name}:${reference}: ${res.status} ${await res.text()}`);
  return res.headers.get("Docker-Content-Digest")!;
}

/** The OCI image manifest (JSON) over the blobs `config` and `layers`, none of them pushed here. */
export async function ociManifestOver(config: string, layers: readonly string[] = []): Promise<string> {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await sha256(config), size: bytesOf(config).byteLength },
    layers: await Promise.all(
      layers.map(async (layer) => ({
        mediaType: OCI_LAYER,
        digest: await sha256(layer),
        size: bytesOf(layer).byteLength,
      })),
    ),
  });
}

/**
 * An OCI image manifest over a fresh config (carrying image labels `labels`) and a fresh layer,
 * both pushed to `name`, with manifest annotations when given; the manifest itself is not pushed.
 */
export async function imageManifest(
  name: string,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
): Promise<string> {
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: labels },
    rootfs: { type: "layers", diff_ids: [] },
    n: crypto.randomUUID(),
  });
  const layer = `layer ${crypto.randomUUID()}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await pushBlob(name, config), size: bytesOf(config).byteLength },
    layers: [{ mediaType: OCI_LAYER, digest: await pushBlob(name, layer), size: bytesOf(layer).byteLength }],
    ...(annotations ? { annotations } : {}),
  });
}

/** The `errors[0].code` of an OCI error body. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code ?? "(none)";
}

/** A repository name no other test uses: `<prefix>/<8 hex>`. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}/${crypto.randomUUID().slice(0, 8)}`;
}

export function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The whole body of a response as bytes. */
export async function bodyBytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** Opens an upload session with POST and returns its Location (a path). */
export async function openUpload(name: string): Promise<string> {
  const res = await request("POST", `/v2/${name}/blobs/uploads/`);
  if (res.status !== 202) throw new Error(`openUpload ${name}: ${res.status} ${await res.text()}`);
  return res.headers.get("Location")!;
}

/** PATCHes one chunk at `start` with a Content-Range, as distribution-spec chunked uploads do. */
export function patchChunk(
  location: string,
  chunk: Uint8Array,
  start: number,
  headers: Record<string, string> = {},
): Promise<Response> {
  return request("PATCH", location, {
    body: chunk,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(chunk.byteLength),
      "Content-Range": `${start}-${start + chunk.byteLength - 1}`,
      ...headers,
    },
  });
}

/** Appends `?digest=` (or `&digest=`) to an upload Location. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes("?") ? "&" : "?"}digest=${digest}`;
}

/** The whole body decoded as UTF-8 (without workerd's warning for non-text content types). */
export async function bodyText(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
export const EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  [key: string]: unknown;
}

/** Pushes `data` as a blob and returns its descriptor. */
export async function pushDescriptor(name: string, mediaType: string, data: Uint8Array | string): Promise<Descriptor> {
  const bytes = bytesOf(data);
  return { mediaType, digest: await pushBlob(name, bytes), size: bytes.byteLength };
}

/** PUTs a manifest and returns the raw response. */
export function putManifest(
  name: string,
  reference: string,
  body: string | Uint8Array,
  contentType: string,
): Promise<Response> {
  return request("PUT", `/v2/${name}/manifests/${reference}`, { body, headers: { "Content-Type": contentType } });
}

/** The manifest descriptor of pushed manifest bytes, for indexes and subjects. */
export async function manifestDescriptor(
  body: string,
  mediaType: string,
  extra: Record<string, unknown> = {},
): Promise<Descriptor> {
  return { mediaType, digest: await sha256(body), size: bytesOf(body).byteLength, ...extra };
}

/** Closes an upload with PUT `?digest=`, optionally with a last chunk in the body. */
export function closeUpload(
  location: string,
  digest: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return request("PUT", withDigest(location, digest), {
    body: body ?? null,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(body?.byteLength ?? 0),
      ...headers,
    },
  });
}

/** GET must answer 200 with exactly `data` (length, digest and every byte). */
export async function expectBlobContent(name: string, digest: string, data: Uint8Array): Promise<void> {
  const res = await request("GET", `/v2/${name}/blobs/${digest}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Length")).toBe(String(data.byteLength));
  const pulled = await bodyBytes(res);
  expect(pulled.byteLength).toBe(data.byteLength);
  expect(await sha256(pulled)).toBe(digest);
  expect(pulled.every((b, i) => b === data[i])).toBe(true);
}
