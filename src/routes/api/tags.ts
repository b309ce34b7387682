/**
 * Tags (Quay `endpoints/api/tag.py`): `GET /api/v1/repository/{repository}/tag/` lists the tag
 * history; `PUT …/tag/{tag}` creates, moves, (un)expires or (un)marks immutable a tag (201
 * "Updated"); `DELETE …/tag/{tag}` ends it (204); `POST …/tag/{tag}/restore` brings it back from
 * the time machine (`{}`); `POST …/tag/{tag}/expire` removes it from the time machine where
 * PERMANENTLY_DELETE_TAGS allows (204). Every write runs in the repository's Durable Object.
 *
 * Access as Quay: reads need repo:read and the pull right (anonymous callers read public
 * repositories; anyone else who may not pull gets 404, as for a missing repository); writes need
 * repo:write and the write role, and changing immutability or permanent deletion repo:admin and
 * the admin role (else 403, whether or not the repository exists).
 *
 * The history is read where the namespace's registry core is (./core.ts), a shard or `DB`.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { notFound } from "../../errors/domain";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { jsonBody, parseOrInvalid } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { unwrap } from "../../errors/outcome";
import { requestOrigin } from "../../middleware/event-scope";
import { isSha256Digest, TAG_PATTERN, type Digest } from "../../registry/reference";
import { repositoryObject } from "../../registry/repository-object";
import { DEFAULT_TAG_PAGE, listTagHistory, MAX_TAG_PAGE } from "../../registry/tag-history";
import { coreOf } from "./core";
import { changeableRepository, readableRepository } from "./repository-access";
import { truthy } from "./repositories";

export const tagRoutes = new Hono<AppEnv>();

const TAGS = "/repository/:repository{.+}/tag";
const TAG = `${TAGS}/:tag`;

/** The repository as the writes' events name it. */
const refOf = (repository: { id: number; name: string }) => ({ id: repository.id, name: repository.name });

/** Quay's words for a tag name outside its rule (util/names.py `TAG_ERROR`). */
export const TAG_ERROR =
  'Invalid tag: must match [A-Za-z0-9_.-], NOT start with "." or "-", and can contain 1-128 characters';

/**
 * Quay's tag name rule (`^[\w][\w.-]{0,127}$`), checked once the caller may act. Quay refuses a
 * bad name with Flask's `abort(400, TAG_ERROR)`, so the answer is its bare `{"message": …}`.
 */
function tagParam(c: Context<AppEnv>): string {
  const tag = c.req.param("tag")!;
  if (!TAG_PATTERN.test(tag)) throw new ApiError("invalid_request", TAG_ERROR, { bare: true });
  return tag;
}

const digest = z
  .string()
  .refine(isSha256Digest, "must be a sha256 digest")
  .transform((d) => d as Digest);

const listQuery = z.object({
  onlyActiveTags: truthy,
  page: z.coerce.number().int().min(1).max(1_000_000).optional(),
  limit: z.coerce.number().int().min(1).optional(),
  specificTag: z.string().max(128).optional(),
  filter_tag_name: z
    .string()
    .regex(/^(like|eq):.{1,128}$/, "must be like:<text> or eq:<name>")
    .optional(),
});

documented("GET", TAGS, {
  operationId: "listRepoTags",
  summary: "The repository's tag history, newest first.",
  scope: "repo:read",
  query: listQuery,
});
tagRoutes.get(TAGS, async (c) => {
  const repository = await readableRepository(c);
  const query = parseOrInvalid(listQuery, c.req.query());
  const filter = query.filter_tag_name?.match(/^(like|eq):(.*)$/s);
  return c.json(
    await listTagHistory(await coreOf(c, repository), repository.id, {
      onlyActiveTags: query.onlyActiveTags ?? false,
      page: query.page ?? 1,
      // Quay clamps rather than refuses a large limit.
      limit: Math.min(query.limit ?? DEFAULT_TAG_PAGE, MAX_TAG_PAGE),
      specificTag: query.specificTag,
      filterTagName: filter ? { op: filter[1] as "like" | "eq", value: filter[2]! } : undefined,
    }),
  );
});

/** Quay's ChangeTag schema: `manifest_digest` and `expiration` (unix seconds or null); Wharf adds `immutable`. */
const changeBody = z
  .object({
    manifest_digest: digest.optional(),
    expiration: z.number().int().min(0).max(253_402_300_799).nullable().optional(),
    immutable: z.boolean().optional(),
  })
  .refine(
    (b) => b.manifest_digest !== undefined || b.expiration !== undefined || b.immutable !== undefined,
    "Give manifest_digest, expiration or immutable",
  );

documented("PUT", TAG, {
  operationId: "changeTag",
  summary: "Creates or moves a tag, or changes its expiration or immutability.",
  scope: "repo:write",
  body: changeBody,
  status: 201,
});
tagRoutes.put(TAG, async (c) => {
  const body = await jsonBody(c, changeBody);
  // Marking a tag immutable or mutable again is the administrators' (Quay: repository admin).
  const repository =
    body.immutable === undefined
      ? await changeableRepository(c, "repo:write", "write")
      : await changeableRepository(c, "repo:admin", "admin");
  const tag = tagParam(c);
  unwrap(
    await repositoryObject(c.env, repository.name).putTag(
      refOf(repository),
      tag,
      {
        manifestDigest: body.manifest_digest,
        expirationMs:
          body.expiration === undefined ? undefined : body.expiration === null ? null : body.expiration * 1000,
        immutable: body.immutable,
      },
      requestOrigin(c),
    ),
  );
  return c.json("Updated", 201);
});

documented("DELETE", TAG, {
  operationId: "deleteFullTag",
  summary: "Deletes a tag; it stays restorable inside the time-machine window.",
  scope: "repo:write",
  status: 204,
});
tagRoutes.delete(TAG, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  const tag = tagParam(c);
  unwrap(await repositoryObject(c.env, repository.name).deleteTag(refOf(repository), tag, requestOrigin(c)));
  return c.body(null, 204);
});

const restoreBody = z.object({ manifest_digest: digest });

documented("POST", `${TAG}/restore`, {
  operationId: "restoreTag",
  summary: "Points a tag again at a manifest of the time machine.",
  scope: "repo:write",
  body: restoreBody,
});
tagRoutes.post(`${TAG}/restore`, async (c) => {
  const repository = await changeableRepository(c, "repo:write", "write");
  const tag = tagParam(c);
  const body = await jsonBody(c, restoreBody);
  const stub = repositoryObject(c.env, repository.name);
  unwrap(await stub.restoreTag(refOf(repository), tag, body.manifest_digest, requestOrigin(c)));
  return c.json({});
});

/** Quay's TagTimeMachineDelete body; `include_submanifests` is accepted (children follow through GC). */
const expireBody = z.object({
  manifest_digest: digest,
  include_submanifests: z.boolean().optional(),
  is_alive: z.boolean().optional(),
});

documented("POST", `${TAG}/expire`, {
  operationId: "removeTagFromTimemachine",
  summary: "Removes a tag from the time machine (PERMANENTLY_DELETE_TAGS).",
  scope: "repo:admin",
  body: expireBody,
  status: 204,
});
tagRoutes.post(`${TAG}/expire`, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  // Quay shows this endpoint only when PERMANENTLY_DELETE_TAGS is set.
  if (!readConfig(c.env).PERMANENTLY_DELETE_TAGS) throw notFound();
  const tag = tagParam(c);
  const body = await jsonBody(c, expireBody);
  unwrap(
    await repositoryObject(c.env, repository.name).removeFromTimeMachine(
      refOf(repository),
      tag,
      body.manifest_digest,
      body.is_alive ?? false,
      requestOrigin(c),
    ),
  );
  return c.body(null, 204);
});
