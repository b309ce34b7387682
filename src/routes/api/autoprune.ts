/**
 * Auto-prune policies (Quay `endpoints/api/policy.py`) of an organization
 * (`/organization/{orgname}/autoprunepolicy/`), of the caller's own namespace
 * (`/user/autoprunepolicy/`) and of one repository (`/repository/{repository}/autoprunepolicy/`):
 * `GET` lists them (`{"policies": […]}`), `POST` creates one (201 `{"uuid"}`), and
 * `GET|PUT|DELETE …/{policy_uuid}` reads one, replaces it (204 without a body: Quay's docs say the
 * PUT "does not return output") and deletes it (`{"uuid"}`). The trailing slash is optional, as the
 * app is not strict. Quay's docs show no PUT for the user's namespace; Quay serves one, so does Wharf.
 *
 * Access as Quay: an organization's need org:admin and an admin of it, a repository's repo:admin
 * and the admin role (anyone else 403, whether or not it exists), the user's own user:admin. A
 * policy of another namespace or repository is 404. With FEATURE_AUTO_PRUNE off every route
 * answers 404, to everyone, as Quay then registers none of them (`@show_if`).
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AutoprunePolicy } from "../../db/schema";
import type { AppEnv } from "../app-env";
import type { Scope } from "../../identity/scopes";
import {
  createPolicy,
  deletePolicy,
  findPolicy,
  listPolicies,
  policyConfig,
  policyView,
  repositoryScope,
  updatePolicy,
  type PolicyScope,
} from "../../registry/autoprune-policies";
import { administeredOrganization } from "./organization-access";
import { changeableRepository } from "./repository-access";

export const autopruneRoutes = new Hono<AppEnv>();

type Resolve = (c: Context<AppEnv>) => Promise<PolicyScope>;

/** The caller's scope of policies, once the feature is on and the caller may administer it. */
const guarded =
  (resolve: Resolve): Resolve =>
  async (c) => {
    if (!readConfig(c.env).FEATURE_AUTO_PRUNE) throw notFound();
    return resolve(c);
  };

/** A namespace's own policies. */
const ofNamespace = (namespace: { id: number; username: string }): PolicyScope => ({
  namespaceId: namespace.id,
  repositoryId: null,
  namespace: namespace.username,
  repositoryName: null,
});

const ofOrganization = guarded(async (c) => ofNamespace((await administeredOrganization(c)).org));

const ofUser = guarded(async (c) => ofNamespace(callerWith(c.var.caller, "user:admin")));

const ofRepository = guarded(async (c) => {
  const scope = await repositoryScope(c.var.db, await changeableRepository(c, "repo:admin", "admin"));
  if (!scope) throw notFound();
  return scope;
});

/**
 * Quay's `AutoPrunePolicyConfig`: `method` and `value` are required, with Quay's own messages
 * (src/registry/autoprune-policies.ts), so they are optional here; `tagPatternMatches` defaults
 * to true (prune the tags that match).
 */
const policyBody = z.object({
  method: z.string().optional(),
  value: z.union([z.number(), z.string()]).optional(),
  tagPattern: z.string().nullable().optional(),
  tagPatternMatches: z.boolean().optional(),
});

async function policyOf(c: Context<AppEnv>, scope: PolicyScope): Promise<AutoprunePolicy> {
  const policy = await findPolicy(c.var.db, scope, c.req.param("policy_uuid")!);
  if (!policy) throw notFound();
  return policy;
}

function mount(base: string, resolve: Resolve) {
  autopruneRoutes.get(base, async (c) => {
    const scope = await resolve(c);
    return c.json({ policies: (await listPolicies(c.var.db, scope)).map(policyView) });
  });

  autopruneRoutes.post(base, async (c) => {
    const scope = await resolve(c);
    const config = policyConfig(await jsonBody(c, policyBody));
    return c.json({ uuid: (await createPolicy(c.var.db, scope, config, requestEvents(c))).uuid }, 201);
  });

  autopruneRoutes.get(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    return c.json(policyView(await policyOf(c, scope)));
  });

  autopruneRoutes.put(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    const policy = await policyOf(c, scope);
    await updatePolicy(c.var.db, scope, policy, policyConfig(await jsonBody(c, policyBody)), requestEvents(c));
    return c.body(null, 204);
  });

  autopruneRoutes.delete(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    const policy = await policyOf(c, scope);
    await deletePolicy(c.var.db, scope, policy, requestEvents(c));
    return c.json({ uuid: policy.uuid });
  });
}

/** Quay's operation ids: `listOrganizationAutoPrunePolicies`, `createUserAutoPrunePolicy`, … */
function describe(base: string, kind: "Organization" | "User" | "Repository", scope: Scope) {
  const whose = {
    Organization: "the organization",
    User: "the signed-in user's namespace",
    Repository: "the repository",
  }[kind];
  const op = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    operationId: string,
    summary: string,
    extra: { body?: z.ZodType; status?: 201 | 204 } = {},
  ) => documented(method, `${base}${path}`, { operationId, summary, scope, ...extra });
  op("GET", "", `list${kind}AutoPrunePolicies`, `Lists the auto-prune policies of ${whose}.`);
  op(
    "POST",
    "",
    `create${kind}AutoPrunePolicy`,
    `Creates an auto-prune policy for ${whose} (method and value required).`,
    { body: policyBody, status: 201 },
  );
  op("GET", "/:policy_uuid", `get${kind}AutoPrunePolicy`, `One auto-prune policy of ${whose}.`);
  op("PUT", "/:policy_uuid", `update${kind}AutoPrunePolicy`, `Replaces an auto-prune policy of ${whose}.`, {
    body: policyBody,
    status: 204,
  });
  op("DELETE", "/:policy_uuid", `delete${kind}AutoPrunePolicy`, `Deletes an auto-prune policy of ${whose}.`);
}

const ORGANIZATION = "/organization/:orgname/autoprunepolicy";
const USER = "/user/autoprunepolicy";
const REPOSITORY = "/repository/:repository{.+}/autoprunepolicy";

mount(ORGANIZATION, ofOrganization);
mount(USER, ofUser);
mount(REPOSITORY, ofRepository);
describe(ORGANIZATION, "Organization", "org:admin");
describe(USER, "User", "user:admin");
describe(REPOSITORY, "Repository", "repo:admin");
