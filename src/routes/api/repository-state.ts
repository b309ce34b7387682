/**
 * `PUT /api/v1/repository/{repository}/changestate` (Quay `endpoints/api/repository.py`,
 * `changeRepoState`): `{"state": "NORMAL" | "READ_ONLY" | "MIRROR"}`, repo:admin and the admin
 * role (403 otherwise, existing or not), answering `{"success": true}`. What READ_ONLY refuses,
 * and why no write commits after the change: src/registry/repository-state.ts.
 *
 * Quay's schema lists the three states (anything else is its schema's 400); MIRROR while mirroring
 * is off (FEATURE_REPO_MIRROR) is Quay's bare 400 `{"detail": "Unknown Repository State: MIRROR"}`.
 * In MIRROR only the mirror's robot pushes (src/mirror/, src/registry/repository-state.ts).
 */
import { Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { unwrap } from "../../errors/outcome";
import { requestOrigin } from "../../middleware/event-scope";
import { repositoryObject } from "../../registry/repository-object";
import { REPOSITORY_STATES } from "../../registry/repository-state";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { changeableRepository } from "./repository-access";
import { jsonBody } from "./validate";

export const repositoryStateRoutes = new Hono<AppEnv>();

const PATH = "/repository/:repository{.+}/changestate";

/** Quay's `ChangeRepoState`. */
const stateBody = z.object({ state: z.enum(REPOSITORY_STATES) });

documented("PUT", PATH, {
  operationId: "changeRepoState",
  summary: "Change the state of a repository (NORMAL, READ_ONLY, or MIRROR with mirroring on).",
  scope: "repo:admin",
  body: stateBody,
});
repositoryStateRoutes.put(PATH, async (c) => {
  const repository = await changeableRepository(c, "repo:admin", "admin");
  const { state } = await jsonBody(c, stateBody);
  if (state === "MIRROR" && !readConfig(c.env).FEATURE_REPO_MIRROR)
    return c.json({ detail: `Unknown Repository State: ${state}` }, 400);
  const ref = { id: repository.id, name: repository.name };
  unwrap(await repositoryObject(c.env, repository.name).changeState(ref, state, requestOrigin(c)));
  return c.json({ success: true });
});
