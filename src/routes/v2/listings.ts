/**
 * The listing endpoints of /v2: tags (distribution-spec "Listing Tags"), the catalog (Docker
 * Registry HTTP API V2 "Listing Repositories") and referrers ("Listing Referrers"). Pages follow
 * the spec: `n` and `last`, and a `Link: <…>; rel="next"` header when more may follow.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { nextLink } from "../../lib/http";
import { claimsGrant } from "../../identity/registry-tokens";
import { listVisibleRepositoryNames } from "../../identity/permissions";
import { requireAccess, unauthorized } from "../../middleware/access";
import { withPrimaryRetry } from "../../middleware/db-session";
import { RegistryError } from "./errors";
import { MediaType } from "../../registry/media-types";
import { listReferrers } from "../../registry/referrers";
import { findRepository } from "../../registry/repositories";
import { listTagNames } from "../../registry/tags";
import { DEFAULT_PAGE, parseDigest, parseName, parsePage } from "./params";

export const listingRoutes = new Hono<AppEnv>();

listingRoutes.get("/_catalog", async (c) => {
  const principal = c.var.principal;
  if (principal.kind !== "token" || !claimsGrant(principal.claims, "registry", "catalog", "*")) {
    throw unauthorized(c, "registry:catalog:*");
  }
  const { n, last } = parsePage(c.req.query());
  // Only repositories the caller can see are listed. One more than asked tells whether another
  // page exists: the last page carries no Link.
  const visible = n === 0 ? [] : await listVisibleRepositoryNames(c.var.db, principal.claims.subject, n + 1, last);
  const repositories = visible.slice(0, n);
  if (visible.length > n) c.header("Link", nextLink("/v2/_catalog", { n, last: repositories[n - 1]! }));
  return c.json({ repositories });
});

listingRoutes.get("/:name{.+}/tags/list", requireAccess("pull"), async (c) => {
  const name = parseName(c);
  const { n, last } = parsePage(c.req.query());
  // A replica's miss is asked again of the primary (src/middleware/db-session.ts). The repository
  // is DB's (the directory: one no tag was pushed to yet lists none); its tags are its core's.
  const repository = await withPrimaryRetry(c, async () => {
    const found = await findRepository(c.var.db, name);
    if (!found) throw new RegistryError("NAME_UNKNOWN", { name });
    return found;
  });
  // One more than asked tells whether another page exists: the spec's Link is "included in the
  // response when additional tags are available", so the last page carries none.
  const page = n === 0 ? [] : await listTagNames(c.var.core, repository.id, n + 1, last);
  const tags = page.slice(0, n);
  if (page.length > n) c.header("Link", nextLink(`/v2/${name}/tags/list`, { n, last: tags[n - 1]! }));
  return c.json({ name, tags });
});

listingRoutes.get("/:name{.+}/referrers/:digest", requireAccess("pull"), async (c) => {
  const name = parseName(c);
  const subject = parseDigest(c.req.param("digest"));
  const artifactType = c.req.query("artifactType");
  const last = c.req.query("last");
  const repository = await findRepository(c.var.db, name);
  // The spec forbids a 404 here: an unknown subject or repository has no referrers.
  const manifests = repository
    ? await listReferrers(c.var.core, repository.id, subject, { artifactType, limit: DEFAULT_PAGE, last })
    : [];
  if (artifactType !== undefined) c.header("OCI-Filters-Applied", "artifactType");
  if (manifests.length === DEFAULT_PAGE) {
    const params: Record<string, string> = { last: manifests[DEFAULT_PAGE - 1]!.digest };
    if (artifactType !== undefined) params.artifactType = artifactType;
    c.header("Link", nextLink(`/v2/${name}/referrers/${subject}`, params));
  }
  return c.body(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }), 200, {
    "Content-Type": MediaType.OciIndex,
  });
});
