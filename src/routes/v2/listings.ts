/**
 * The listing endpoints of /v2: tags (distribution-spec "Listing Tags"), the catalog (Docker
 * Registry HTTP API V2 "Listing Repositories") and referrers ("Listing Referrers"). Pages follow
 * the spec: `n` and `last`, and a `Link: <…>; rel="next"` header when more may follow.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { nextLink } from "../../lib/http";
import { mayAccess, requireAccess } from "../../middleware/access";
import { RegistryError } from "../../oci/errors";
import { MediaType } from "../../registry/media-types";
import { listReferrers } from "../../registry/referrers";
import { findRepository, listRepositoryNames } from "../../registry/repositories";
import { listTagNames } from "../../registry/tags";
import { DEFAULT_PAGE, parseDigest, parseName, parsePage } from "./params";

export const listingRoutes = new Hono<AppEnv>();

listingRoutes.get("/_catalog", async (c) => {
  const { n, last } = parsePage(c.req.query());
  const visible: string[] = [];
  let cursor = last;
  // Only repositories the caller may pull are listed; keep reading until the page is full. One
  // more than asked tells whether another page exists: the last page carries no Link.
  const want = n === 0 ? 0 : n + 1;
  while (visible.length < want) {
    const names = await listRepositoryNames(c.var.db, want, cursor);
    for (const name of names) if (visible.length < want && (await mayAccess(c, "pull", name))) visible.push(name);
    if (names.length < want) break;
    cursor = names[names.length - 1];
  }
  const repositories = visible.slice(0, n);
  if (visible.length > n) c.header("Link", nextLink("/v2/_catalog", { n, last: repositories[n - 1]! }));
  return c.json({ repositories });
});

listingRoutes.get("/:name{.+}/tags/list", requireAccess("pull"), async (c) => {
  const name = parseName(c.req.param("name"));
  const { n, last } = parsePage(c.req.query());
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw new RegistryError("NAME_UNKNOWN", { name });
  // One more than asked tells whether another page exists: the spec's Link is "included in the
  // response when additional tags are available", so the last page carries none.
  const page = n === 0 ? [] : await listTagNames(c.var.db, repository.id, n + 1, last);
  const tags = page.slice(0, n);
  if (page.length > n) c.header("Link", nextLink(`/v2/${name}/tags/list`, { n, last: tags[n - 1]! }));
  return c.json({ name, tags });
});

listingRoutes.get("/:name{.+}/referrers/:digest", requireAccess("pull"), async (c) => {
  const name = parseName(c.req.param("name"));
  const subject = parseDigest(c.req.param("digest"));
  const artifactType = c.req.query("artifactType");
  const last = c.req.query("last");
  const repository = await findRepository(c.var.db, name);
  // The spec forbids a 404 here: an unknown subject or repository has no referrers.
  const manifests = repository
    ? await listReferrers(c.var.db, repository.id, subject, { artifactType, limit: DEFAULT_PAGE, last })
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
