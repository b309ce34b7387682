/**
 * Manifests and their labels (Quay `endpoints/api/manifest.py`):
 * `GET /api/v1/repository/{repository}/manifest/{manifestref}` describes a manifest;
 * `GET|POST …/manifest/{manifestref}/labels` lists (optional `filter`: a key prefix) and adds
 * (201 `{"label": …}` with a Location) labels; `GET|DELETE …/labels/{labelid}` reads and deletes
 * one (204). `{manifestref}` is a digest, as in Quay, whose route matches nothing else.
 * `GET …/manifest/{manifestref}/referrers` is Wharf's own: the OCI referrers list (signatures,
 * SBOMs) for the web UI, which holds a session rather than the registry token /v2 wants.
 *
 * Access as Quay: reads need repo:read and the pull right (anonymous callers read public
 * repositories; anyone else who may not pull gets 404, as for a missing repository); writes need
 * repo:write and the write role (else 403, whether or not the repository exists).
 *
 * Which manifests: those /v2 serves by digest, i.e. recorded in the repository and not deleted by
 * digest. Quay's `lookup_manifest_by_digest` also hides a manifest no alive tag reaches; Wharf's
 * /v2 still serves such a manifest until garbage collection, so hiding it here would hide nothing.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { jsonBody, parseOrInvalid } from "./validate";
import type { Db } from "../../db/client";
import type { Manifest, Repository } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { unwrap } from "../../errors/outcome";
import { requestOrigin } from "../../middleware/event-scope";
import { repositoryObject } from "../../registry/repository-object";
import { checkApiLabel, findLabel, LABEL_MEDIA_TYPES, labelView, listLabels } from "../../registry/labels";
import { manifestView } from "../../registry/manifest-view";
import { lookupManifest } from "../../registry/manifests";
import { isSha256Digest, type Digest } from "../../registry/reference";
import { listReferrers } from "../../registry/referrers";
import { coreOf } from "./core";
import { changeableRepository, readableRepository } from "./repository-access";

export const manifestRoutes = new Hono<AppEnv>();

const MANIFEST = "/repository/:repository{.+}/manifest/:manifestref";
const LABELS = `${MANIFEST}/labels`;
const LABEL = `${LABELS}/:labelid`;

/** The repository as the label events name it. */
const refOf = (repository: Repository) => ({ id: repository.id, name: repository.name });

/** The live manifest `{manifestref}` names in the repository, read from `core` (its core's database), else 404. */
async function manifestIn(c: Context<AppEnv>, repository: Repository, core: Db): Promise<Manifest> {
  const ref = c.req.param("manifestref")!;
  const manifest = isSha256Digest(ref)
    ? await lookupManifest(core, { id: repository.id }, { kind: "digest", digest: ref })
    : undefined;
  if (!manifest) throw notFound();
  return manifest;
}

documented("GET", MANIFEST, {
  operationId: "getRepoManifest",
  summary: "A manifest of the repository, with its layers.",
  scope: "repo:read",
});
manifestRoutes.get(MANIFEST, async (c) => {
  const repository = await readableRepository(c);
  const core = await coreOf(c, repository);
  const manifest = await manifestIn(c, repository, core);
  return c.json(await manifestView(core, c.var.store, manifest));
});

const listQuery = z.object({ filter: z.string().max(255).optional() });

documented("GET", LABELS, {
  operationId: "listManifestLabels",
  summary: "The manifest's labels, optionally those whose key starts with `filter`.",
  scope: "repo:read",
  query: listQuery,
});
manifestRoutes.get(LABELS, async (c) => {
  const repository = await readableRepository(c);
  const core = await coreOf(c, repository);
  const manifest = await manifestIn(c, repository, core);
  const { filter } = parseOrInvalid(listQuery, c.req.query());
  return c.json({ labels: (await listLabels(core, manifest.id, filter)).map(labelView) });
});

/** Quay's AddLabel schema: all three required, `media_type` may be null (inferred from the value). */
const labelBody = z.object({ key: z.string(), value: z.string(), media_type: z.enum(LABEL_MEDIA_TYPES).nullable() });

documented("POST", LABELS, {
  operationId: "addManifestLabel",
  summary: "Adds a label to the manifest.",
  scope: "repo:write",
  body: labelBody,
  status: 201,
});
manifestRoutes.post(LABELS, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  const body = await jsonBody(c, labelBody);
  const label = checkApiLabel({ key: body.key, value: body.value, mediaType: body.media_type });
  const manifest = await manifestIn(c, repository, await coreOf(c, repository));
  // Under the repository's lock, where its state is read (Quay refuses READ_ONLY repositories).
  const written = await repositoryObject(c.env, repository.name).addLabel(
    refOf(repository),
    { id: manifest.id, digest: manifest.digest },
    label,
    requestOrigin(c),
  );
  const created = unwrap(written);
  if (!created) throw notFound();
  const location = `/api/v1/repository/${repository.name}/manifest/${manifest.digest}/labels/${created.id}`;
  return c.json({ label: created }, 201, { Location: location });
});

documented("GET", LABEL, {
  operationId: "getManifestLabel",
  summary: "One label of the manifest.",
  scope: "repo:read",
});
manifestRoutes.get(LABEL, async (c) => {
  const repository = await readableRepository(c);
  const core = await coreOf(c, repository);
  const manifest = await manifestIn(c, repository, core);
  const label = await findLabel(core, manifest.id, c.req.param("labelid"));
  if (!label) throw notFound();
  return c.json(labelView(label));
});

documented("DELETE", LABEL, {
  operationId: "deleteManifestLabel",
  summary: "Deletes a label added through the API.",
  scope: "repo:write",
  status: 204,
});
manifestRoutes.delete(LABEL, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  const manifest = await manifestIn(c, repository, await coreOf(c, repository));
  const stub = repositoryObject(c.env, repository.name);
  const label = c.req.param("labelid");
  const deleted = unwrap(
    await stub.deleteLabel(refOf(repository), { id: manifest.id, digest: manifest.digest }, label, requestOrigin(c)),
  );
  if (!deleted) throw notFound();
  return c.body(null, 204);
});

/** One page of referrers; `last` continues after a digest, as the /v2 list's Link does. */
const REFERRERS_PAGE = 100;
const referrersQuery = z.object({
  artifactType: z.string().min(1).max(255).optional(),
  last: z.string().refine(isSha256Digest, "must be a sha256 digest").optional(),
});

documented("GET", `${MANIFEST}/referrers`, {
  operationId: "listManifestReferrers",
  summary: "The manifests whose subject is this digest (OCI referrers: signatures, SBOMs), 100 a page.",
  scope: "repo:read",
  query: referrersQuery,
});
manifestRoutes.get(`${MANIFEST}/referrers`, async (c) => {
  const repository = await readableRepository(c);
  const subject = c.req.param("manifestref")!;
  // As /v2's referrers: a subject the repository does not hold has none (no 404 for a digest);
  // anything but a digest is no manifest reference at all.
  if (!isSha256Digest(subject)) throw notFound();
  const query = parseOrInvalid(referrersQuery, c.req.query());
  const page = await listReferrers(await coreOf(c, repository), repository.id, subject as Digest, {
    artifactType: query.artifactType,
    last: query.last,
    limit: REFERRERS_PAGE + 1,
  });
  return c.json({ referrers: page.slice(0, REFERRERS_PAGE), has_additional: page.length > REFERRERS_PAGE });
});
