/**
 * The /api/v1 authorization matrix, tags: `/repository/{repository}/tag…` against every kind of
 * caller (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As the README states it: the tag history is read with repo:read and the pull right (anyone who
 * may not pull the private repository gets 404, as for a missing one); creating, moving, deleting
 * and restoring tags need repo:write with the write role, and removing a tag from the time machine
 * repo:admin with the admin role (403 otherwise, existing or not). Robots act through /v2, not here.
 */
import { beforeAll, expect } from "vitest";
import { findRepository } from "../../src/registry/repositories";
import { findAliveTag } from "../../src/registry/tags";
import { db, pushTaggedAs } from "./helpers/accounts";
import {
  as,
  defineMatrix,
  fresh,
  PRIVATE,
  REPO_ADMINS,
  REPO_READERS,
  REPO_WRITERS,
  type Route,
} from "./authz-matrix-api/harness";

const TAGS = `/repository/${PRIVATE}/tag`;
/** The manifest the fixture pushes into the private repository as `shown`. */
let digest: string;

const alive = async (tag: string) => {
  const repository = (await findRepository(db(), PRIVATE))!;
  return (await findAliveTag(db(), repository.id, tag)) !== undefined;
};

/** A tag of the private repository on the fixture's manifest, made by its owner. */
async function ownedTag(): Promise<string> {
  const tag = fresh("t");
  await as("owner", "PUT", `${TAGS}/${tag}`, { manifest_digest: digest });
  return tag;
}

/** A tag the owner made and deleted: it is in the time machine. */
async function deletedTag(): Promise<string> {
  const tag = await ownedTag();
  await as("owner", "DELETE", `${TAGS}/${tag}`);
  return tag;
}

const ROUTES: Record<string, Route> = {
  "GET /repository/:repository{.+}/tag": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    run: async ({ send }) => {
      const res = await send(`${TAGS}/?specificTag=shown`);
      return {
        res,
        effect: async () =>
          expect(res.json.tags.map((t: { manifest_digest: string }) => t.manifest_digest)).toContain(digest),
      };
    },
  },
  "PUT /repository/:repository{.+}/tag/:tag": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 201,
    run: async ({ send }) => {
      const tag = fresh("t");
      const res = await send(`${TAGS}/${tag}`, { manifest_digest: digest });
      return {
        res,
        effect: async () => expect(await alive(tag)).toBe(true),
        unchanged: async () => expect(await alive(tag)).toBe(false),
      };
    },
  },
  "DELETE /repository/:repository{.+}/tag/:tag": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 204,
    run: async ({ send }) => {
      const tag = await ownedTag();
      const res = await send(`${TAGS}/${tag}`);
      return {
        res,
        effect: async () => expect(await alive(tag)).toBe(false),
        unchanged: async () => expect(await alive(tag)).toBe(true),
      };
    },
  },
  "POST /repository/:repository{.+}/tag/:tag/restore": {
    scope: "repo:write",
    allow: REPO_WRITERS,
    ok: 200,
    run: async ({ send }) => {
      const tag = await deletedTag();
      const res = await send(`${TAGS}/${tag}/restore`, { manifest_digest: digest });
      return {
        res,
        effect: async () => expect(await alive(tag)).toBe(true),
        unchanged: async () => expect(await alive(tag)).toBe(false),
      };
    },
  },
  // PERMANENTLY_DELETE_TAGS is off in wrangler.toml: the administrators pass the access check and
  // meet the feature's absence (404); tags.test.ts covers the feature switched on.
  "POST /repository/:repository{.+}/tag/:tag/expire": {
    scope: "repo:admin",
    allow: REPO_ADMINS,
    ok: 404,
    run: async ({ send }) => {
      const tag = await ownedTag();
      const res = await send(`${TAGS}/${tag}/expire`, { manifest_digest: digest, is_alive: true });
      return {
        res,
        effect: async () => expect(await alive(tag)).toBe(true),
        unchanged: async () => expect(await alive(tag)).toBe(true),
      };
    },
  },
};

defineMatrix("tags", ROUTES);

beforeAll(async () => {
  digest = await pushTaggedAs("owner", PRIVATE, "shown");
});
