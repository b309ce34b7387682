/**
 * `GET /api/v1/repository/{repository}/manifest/{manifestref}/security` (Quay
 * `endpoints/api/secscan.py` `getRepoManifestSecurity`): a manifest's security scan, `{"status":
 * "queued"|"scanned"|"failed"|"unsupported", "data": null | {"Layer": …}}`
 * (src/secscan/security-info.ts). Absent (404) without FEATURE_SECURITY_SCANNER, as Quay's
 * `show_if`. Read as Quay's `require_repo_read`: anyone who may pull the repository (anonymous
 * callers on a public one), 404 for the rest and for a manifest the repository does not hold.
 * The manifest is found in the namespace's core (./core.ts); its scan, in `DB`'s `manifest_scans`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { notFound } from "../../errors/domain";
import { lookupManifest } from "../../registry/manifests";
import { isSha256Digest } from "../../registry/reference";
import { securityOf } from "../../secscan/security-info";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { coreOf } from "./core";
import { readableRepository } from "./repository-access";
import { parseOrInvalid } from "./validate";

export const secscanRoutes = new Hono<AppEnv>();

const SECURITY = "/repository/:repository{.+}/manifest/:manifestref/security";

/** Quay's `truthy_bool`: `true`, `1` or `yes` in any case; anything else is false. */
const truthy = z
  .string()
  .max(16)
  .optional()
  .transform((v) => v !== undefined && ["true", "1", "yes"].includes(v.toLowerCase()));

const securityQuery = z.object({ vulnerabilities: truthy });

documented("GET", SECURITY, {
  operationId: "getRepoManifestSecurity",
  summary: "The manifest's security scan: its status and, once scanned, its packages and their vulnerabilities.",
  scope: "repo:read",
  query: securityQuery,
});
secscanRoutes.get(SECURITY, async (c) => {
  if (!readConfig(c.env).FEATURE_SECURITY_SCANNER) throw notFound();
  const { vulnerabilities } = parseOrInvalid(securityQuery, c.req.query());
  const repository = await readableRepository(c);
  const ref = c.req.param("manifestref")!;
  const manifest = isSha256Digest(ref)
    ? await lookupManifest(await coreOf(c, repository), { id: repository.id }, { kind: "digest", digest: ref })
    : undefined;
  if (!manifest) throw notFound();
  return c.json(await securityOf(c.var.db, c.var.store, manifest, vulnerabilities));
});
