/**
 * Pull statistics (Quay's `getTagPullStatistics` in `endpoints/api/tag.py` and
 * `getManifestPullStatistics` in `endpoints/api/manifest.py`, behind FEATURE_IMAGE_PULL_STATS):
 * `GET /api/v1/repository/{repository}/tag/{tag}/pull_statistics` answers
 * `{"tag_name","tag_pull_count","last_tag_pull_date","current_manifest_digest","manifest_pull_count",
 * "last_manifest_pull_date"}` (the manifest figures are those of the manifest the tag points at
 * now), `GET …/manifest/{manifestref}/pull_statistics`
 * `{"manifest_digest","manifest_pull_count","last_manifest_pull_date"}`; dates ISO 8601 in UTC,
 * null (and counts 0) before the first pull. They read the one pull count
 * (src/registry/pull-statistics.ts), in the database holding the namespace's core (./core.ts),
 * where src/queues/pull-statistics-per-database.ts counts its pulls.
 *
 * Access as Quay (its PROJQUAY-9775 tests): statistics are the repository's private data, so they
 * need repo:read and an explicit read, write or admin permission even on a public repository (403
 * otherwise; anonymous callers 401). As everywhere in Wharf, whoever cannot pull a private
 * repository gets 404. With FEATURE_IMAGE_PULL_STATS off both answer 404 "Image pull statistics
 * feature is not enabled", as Quay.
 */
import { Hono, type Context } from "hono";
import { readConfig } from "../../config";
import type { Repository } from "../../db/schema";
import { DomainError, notFound } from "../../errors/domain";
import { repositoryAccess } from "../../identity/permissions";
import { lookupManifest } from "../../registry/manifests";
import { manifestPulls, type PullCount, pullDate, tagPulls } from "../../registry/pull-statistics";
import { isSha256Digest } from "../../registry/reference";
import { findAliveTag } from "../../registry/tags";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { coreOf } from "./core";
import { readableRepository, reader, subjectOf } from "./repository-access";

export const pullStatisticsRoutes = new Hono<AppEnv>();

const TAG = "/repository/:repository{.+}/tag/:tag/pull_statistics";
const MANIFEST = "/repository/:repository{.+}/manifest/:manifestref/pull_statistics";

/** The repository in the path, for a caller holding an explicit permission on it. */
async function statisticsOf(c: Context<AppEnv>): Promise<Repository> {
  if (!readConfig(c.env).FEATURE_IMAGE_PULL_STATS)
    throw new DomainError("not_found", { message: "Image pull statistics feature is not enabled" });
  const repository = await readableRepository(c);
  const user = reader(c);
  if (!user) throw new ApiError("invalid_token");
  if (!(await repositoryAccess(c.var.db, subjectOf(user)).role(repository.name)))
    throw new ApiError("insufficient_scope");
  return repository;
}

/** The manifest's figures, which close both answers. */
const manifestFigures = (pulls: PullCount) => ({
  manifest_pull_count: pulls.pulls,
  last_manifest_pull_date: pullDate(pulls.lastPulledAt),
});

documented("GET", TAG, {
  operationId: "getTagPullStatistics",
  summary: "Pull statistics of a tag and of the manifest it points at.",
  scope: "repo:read",
});
pullStatisticsRoutes.get(TAG, async (c) => {
  const repository = await statisticsOf(c);
  const name = c.req.param("tag");
  const core = await coreOf(c, repository);
  const tag = await findAliveTag(core, repository.id, name);
  if (!tag || tag.hidden) throw notFound("tag");
  const [ofTag, ofManifest] = await Promise.all([
    tagPulls(core, repository.id, name),
    manifestPulls(core, repository.id, tag.digest),
  ]);
  return c.json({
    tag_name: name,
    tag_pull_count: ofTag.pulls,
    last_tag_pull_date: pullDate(ofTag.lastPulledAt),
    current_manifest_digest: tag.digest,
    ...manifestFigures(ofManifest),
  });
});

documented("GET", MANIFEST, {
  operationId: "getManifestPullStatistics",
  summary: "Pull statistics of a manifest, pulled by tag or by digest.",
  scope: "repo:read",
});
pullStatisticsRoutes.get(MANIFEST, async (c) => {
  const repository = await statisticsOf(c);
  const digest = c.req.param("manifestref");
  const core = await coreOf(c, repository);
  const manifest = isSha256Digest(digest)
    ? await lookupManifest(core, { id: repository.id }, { kind: "digest", digest })
    : undefined;
  if (!manifest) throw notFound("manifest");
  const pulls = await manifestPulls(core, repository.id, manifest.digest);
  return c.json({
    manifest_digest: manifest.digest,
    ...manifestFigures(pulls),
  });
});
