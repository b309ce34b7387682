/**
 * The trigger setup wizard's internal calls (Quay `endpoints/api/trigger.py`, `@internal_only`):
 * `…/subdir`, `…/analyze`, `…/fields/{field_name}`, `…/sources`, `…/namespaces`. Quay's answers
 * come from the SCM's API through the trigger's OAuth token; its custom git handler has none of
 * them (`NotImplementedError`). Wharf holds no SCM token, so for both services it answers what it
 * knows without one: no Dockerfile paths to pick from (the user types them), `analyze`'s
 * `notimplemented`, no source namespaces or repositories, and as field values the refs that the
 * trigger's webhook or runs have built (a manual run's branch or tag picker).
 */
import { Hono } from "hono";
import { z } from "zod";
import { recentPushes } from "../../builds/trigger-builds";
import { notFound } from "../../errors/domain";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { pathTrigger, requireConnectedUser } from "./trigger-access";
import { jsonBody } from "./validate";

export const triggerHelperRoutes = new Hono<AppEnv>();

const ONE = "/repository/:repository{.+}/trigger/:trigger_uuid";
/** Quay's FIELD_VALUE_LIMIT. */
const FIELD_VALUE_LIMIT = 30;

const anyJson = z.record(z.string(), z.unknown());
const analyzeBody = z.object({ config: anyJson });
const sourcesBody = z.object({ namespace: z.string().max(255) });

documented("POST", `${ONE}/subdir`, {
  operationId: "listBuildTriggerSubdirs",
  summary: "List the subdirectories available for the specified build trigger and source.",
  scope: "repo:admin",
  body: anyJson,
});
triggerHelperRoutes.post(`${ONE}/subdir`, async (c) => {
  const scope = await pathTrigger(c, true);
  await jsonBody(c, anyJson);
  requireConnectedUser(scope);
  return c.json({ dockerfile_paths: [], contextMap: {}, status: "success" });
});

documented("POST", `${ONE}/analyze`, {
  operationId: "analyzeBuildTrigger",
  summary: "Analyze the specified build trigger configuration.",
  scope: "repo:admin",
  body: analyzeBody,
});
triggerHelperRoutes.post(`${ONE}/analyze`, async (c) => {
  await pathTrigger(c, true);
  await jsonBody(c, analyzeBody);
  // Quay's answer when the handler cannot load the Dockerfile (its custom git trigger's).
  return c.json({ status: "notimplemented" });
});

/** The refs the trigger built, as `refs` (`{kind, name}`), `branch_name` or `tag_name` values. */
function fieldValues(field: string, refs: string[]): unknown[] | null {
  const named = (prefix: string) => refs.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  const branches = named("refs/heads/");
  const tags = named("refs/tags/");
  if (field === "branch_name") return branches;
  if (field === "tag_name") return tags;
  if (field === "refs")
    return [
      ...branches.map((name) => ({ kind: "branch", name })),
      ...tags.map((name) => ({ kind: "tag", name })),
    ].slice(0, FIELD_VALUE_LIMIT);
  return null;
}

documented("POST", `${ONE}/fields/:field_name`, {
  operationId: "listTriggerFieldValues",
  summary: "List the field values for a custom run field.",
  scope: "repo:admin",
});
triggerHelperRoutes.post(`${ONE}/fields/:field_name`, async (c) => {
  const { row } = await pathTrigger(c, true);
  const pushes = await recentPushes(c.var.db, row.trigger.id);
  const refs = [...new Set(pushes.map((m) => m.ref!))].slice(0, FIELD_VALUE_LIMIT);
  const values = fieldValues(c.req.param("field_name"), refs);
  if (values === null) throw notFound();
  return c.json({ values });
});

documented("POST", `${ONE}/sources`, {
  operationId: "listTriggerBuildSources",
  summary: "List the build sources for the trigger configuration thus far.",
  scope: "repo:admin",
  body: sourcesBody,
});
triggerHelperRoutes.post(`${ONE}/sources`, async (c) => {
  const scope = await pathTrigger(c, true);
  await jsonBody(c, sourcesBody);
  requireConnectedUser(scope);
  return c.json({ sources: [] });
});

documented("GET", `${ONE}/namespaces`, {
  operationId: "listTriggerBuildSourceNamespaces",
  summary: "List the build source namespaces for the trigger configuration thus far.",
  scope: "repo:admin",
});
triggerHelperRoutes.get(`${ONE}/namespaces`, async (c) => {
  const scope = await pathTrigger(c, false);
  requireConnectedUser(scope);
  return c.json({ namespaces: [] });
});
