/**
 * The /api/v1 authorization matrix, pull statistics: `…/tag/{tag}/pull_statistics` and
 * `…/manifest/{manifestref}/pull_statistics` against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As the README states it: repo:read and an explicit permission on the repository (Quay's
 * PROJQUAY-9775: statistics are private data); anyone who may not pull the private repository gets
 * 404, as for a missing one. Robots act through /v2, not here.
 */
import { beforeAll, expect } from "vitest";
import { pushTaggedAs } from "./helpers/accounts";
import { defineMatrix, PRIVATE, REPO_READERS, type Route } from "./authz-matrix-api/harness";

/** The manifest the fixture pushes into the private repository as `counted`. */
let digest: string;

/** Both routes' rule: repo:read and an explicit permission; 404 for whoever may not pull. */
const READ_BY_PERMISSION = { scope: "repo:read", allow: REPO_READERS, ok: 200, denied: 404, anonymous: 404 } as const;

const ROUTES: Record<string, Route> = {
  "GET /repository/:repository{.+}/tag/:tag/pull_statistics": {
    ...READ_BY_PERMISSION,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/tag/counted/pull_statistics`);
      return {
        res,
        effect: async () =>
          expect(res.json).toMatchObject({ tag_name: "counted", current_manifest_digest: digest, tag_pull_count: 0 }),
      };
    },
  },
  "GET /repository/:repository{.+}/manifest/:manifestref/pull_statistics": {
    ...READ_BY_PERMISSION,
    run: async ({ send }) => {
      const res = await send(`/repository/${PRIVATE}/manifest/${digest}/pull_statistics`);
      return {
        res,
        effect: async () => expect(res.json).toMatchObject({ manifest_digest: digest, manifest_pull_count: 0 }),
      };
    },
  },
};

defineMatrix("pull-statistics", ROUTES);

beforeAll(async () => {
  digest = await pushTaggedAs("owner", PRIVATE, "counted");
});
