/**
 * The /api/v1 authorization matrix, manifests: `/repository/{repository}/manifest/{manifestref}`
 * and its labels, against every kind of caller (test/workers/authz-matrix-api/harness.ts lists
 * them and the rule). The table must list exactly the router's routes of this area.
 *
 * As Quay's `endpoints/api/manifest.py`: reads need repo:read and the pull right, and anyone who
 * may not pull the private repository gets 404, as for a missing one, while anyone (anonymous
 * included) reads the public repository's manifest: every read row checks that too. Adding and
 * deleting labels need repo:write and the write role, else 403 whether or not the repository
 * exists (anonymous: 401). Superusers hold no repository access, and robots none through the API.
 */
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { manifestLabels } from "../../src/db/schema";
import { db } from "./helpers/accounts";
import { bytesOf, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, registryToken, request, sha256 } from "./helpers/registry";
import {
  as,
  defineMatrix,
  fresh,
  PRIVATE,
  PUBLIC,
  REPO_READERS,
  REPO_WRITERS,
  type Answer,
  type Ctx,
  type Route,
} from "./authz-matrix-api/harness";

/** Pushes a labelled one-layer image to `name` as the organization's admin; returns its digest. */
async function pushLabelled(name: string): Promise<string> {
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "owner");
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: { "from.image": name } },
    n: crypto.randomUUID(),
  });
  const layer = `layer ${crypto.randomUUID()}`;
  for (const blob of [config, layer]) {
    const res = await request("POST", `/v2/${name}/blobs/uploads/?digest=${await sha256(blob)}`, {
      token,
      body: bytesOf(blob),
    });
    if (res.status !== 201) throw new Error(`blob push to ${name}: ${res.status}`);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await sha256(config), size: bytesOf(config).byteLength },
    layers: [{ mediaType: OCI_LAYER, digest: await sha256(layer), size: bytesOf(layer).byteLength }],
  });
  const res = await request("PUT", `/v2/${name}/manifests/matrix`, {
    token,
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`manifest push to ${name}: ${res.status}`);
  return res.headers.get("Docker-Content-Digest")!;
}

/** Pushes, by digest, a signature-like artifact whose subject is `subject`; returns its digest. */
async function pushReferrer(name: string, subject: string): Promise<string> {
  const token = await registryToken([{ type: "repository", name, actions: ["pull", "push"] }], "owner");
  const empty = "{}";
  const blob = await request("POST", `/v2/${name}/blobs/uploads/?digest=${await sha256(empty)}`, {
    token,
    body: bytesOf(empty),
  });
  if (blob.status !== 201) throw new Error(`blob push to ${name}: ${blob.status}`);
  const descriptor = { mediaType: "application/vnd.oci.empty.v1+json", digest: await sha256(empty), size: 2 };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
    config: descriptor,
    layers: [descriptor],
    subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
  });
  const digest = await sha256(manifest);
  const res = await request("PUT", `/v2/${name}/manifests/${digest}`, {
    token,
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`referrer push to ${name}: ${res.status}`);
  return digest;
}

interface Fixture {
  /** A signature-like artifact referring to `digest`. */
  referrer: string;
  digest: string;
  publicDigest: string;
  /** An API label on the private manifest and one on the public manifest. */
  label: string;
  publicLabel: string;
}

let fixture: Promise<Fixture> | undefined;
/** Made once, after the harness's own setup (the first cell that needs it). */
function fixtures(): Promise<Fixture> {
  fixture ??= (async () => {
    const [digest, publicDigest] = [await pushLabelled(PRIVATE), await pushLabelled(PUBLIC)];
    const label = (
      await as("owner", "POST", `/repository/${PRIVATE}/manifest/${digest}/labels`, {
        key: "standing",
        value: "v",
        media_type: null,
      })
    ).json.label.id;
    const publicLabel = (
      await as("owner", "POST", `/repository/${PUBLIC}/manifest/${publicDigest}/labels`, {
        key: "standing",
        value: "v",
        media_type: null,
      })
    ).json.label.id;
    const referrer = await pushReferrer(PRIVATE, digest);
    return { digest, publicDigest, label, publicLabel, referrer };
  })();
  return fixture;
}

const MANIFEST = (name: string, digest: string) => `/repository/${name}/manifest/${digest}`;

/** What the same call on the public repository answers this caller: anyone reads it, tokens need repo:read. */
function publicStatus(ctx: Ctx): number {
  if (ctx.caller.kind === "refused") return 401;
  if (ctx.caller.kind === "unscoped") return 403;
  return 200;
}

/** A read row's run: the private repository's answer, and the public one checked beside it. */
async function read(
  ctx: Ctx,
  path: (f: Fixture, name: string, digest: string) => string,
  check: (res: Answer, f: Fixture) => void,
) {
  const f = await fixtures();
  const res = await ctx.send(path(f, PRIVATE, f.digest));
  const pub = await ctx.send(path(f, PUBLIC, f.publicDigest));
  const publicRead = async () =>
    expect(pub.status, `the public repository as ${ctx.caller.name}`).toBe(publicStatus(ctx));
  return {
    res,
    effect: async () => {
      check(res, f);
      await publicRead();
    },
    unchanged: publicRead,
  };
}

const labelRow = (id: string) => db().select().from(manifestLabels).where(eq(manifestLabels.id, id)).get();
const labelsKeyed = (key: string) =>
  db()
    .select()
    .from(manifestLabels)
    .where(and(eq(manifestLabels.key, key), eq(manifestLabels.sourceType, "api")))
    .all();

const ROUTES: Record<string, Route> = {
  "GET /repository/:repository{.+}/manifest/:manifestref": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    run: (ctx) =>
      read(
        ctx,
        (_, name, digest) => MANIFEST(name, digest),
        (res, f) => expect(res.json).toMatchObject({ digest: f.digest, is_manifest_list: false }),
      ),
  },
  "GET /repository/:repository{.+}/manifest/:manifestref/labels": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    run: (ctx) =>
      read(
        ctx,
        (_, name, digest) => `${MANIFEST(name, digest)}/labels`,
        (res) =>
          expect(res.json.labels.map((l: { key: string; source_type: string }) => [l.key, l.source_type])).toEqual(
            expect.arrayContaining([
              ["from.image", "manifest"],
              ["standing", "api"],
            ]),
          ),
      ),
  },
  "GET /repository/:repository{.+}/manifest/:manifestref/labels/:labelid": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    run: (ctx) =>
      read(
        ctx,
        (f, name, digest) => `${MANIFEST(name, digest)}/labels/${name === PRIVATE ? f.label : f.publicLabel}`,
        (res, f) =>
          expect(res.json).toEqual({
            id: f.label,
            key: "standing",
            value: "v",
            source_type: "api",
            media_type: "text/plain",
          }),
      ),
  },
  "GET /repository/:repository{.+}/manifest/:manifestref/referrers": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    run: (ctx) =>
      read(
        ctx,
        (_, name, digest) => `${MANIFEST(name, digest)}/referrers`,
        (res, f) =>
          expect(res.json).toEqual({
            referrers: [
              expect.objectContaining({
                digest: f.referrer,
                artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
              }),
            ],
            has_additional: false,
          }),
      ),
  },
  "POST /repository/:repository{.+}/manifest/:manifestref/labels": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 201,
    run: async ({ send }) => {
      const { digest } = await fixtures();
      const key = fresh("added");
      const res = await send(`${MANIFEST(PRIVATE, digest)}/labels`, { key, value: "v", media_type: "text/plain" });
      return {
        res,
        effect: async () => expect((await labelsKeyed(key)).map((l) => l.id)).toEqual([res.json.label.id]),
        unchanged: async () => expect(await labelsKeyed(key)).toEqual([]),
      };
    },
  },
  "DELETE /repository/:repository{.+}/manifest/:manifestref/labels/:labelid": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 204,
    run: async ({ send }) => {
      const { digest } = await fixtures();
      const id = (
        await as("owner", "POST", `${MANIFEST(PRIVATE, digest)}/labels`, {
          key: fresh("doomed"),
          value: "v",
          media_type: null,
        })
      ).json.label.id;
      const res = await send(`${MANIFEST(PRIVATE, digest)}/labels/${id}`);
      return {
        res,
        effect: async () => expect(await labelRow(id)).toBeUndefined(),
        unchanged: async () => expect(await labelRow(id)).toBeDefined(),
      };
    },
  },
};

defineMatrix("manifests", ROUTES);
