/**
 * Immutability policies (Quay `endpoints/api/immutability_policy.py`) of an organization
 * (`/organization/{orgname}/immutabilitypolicy/`) and of one repository
 * (`/repository/{repository}/immutabilitypolicy/`): `GET` lists them (`{"policies": […]}`), `POST`
 * creates one (201 `{"uuid"}`), `GET|PUT|DELETE …/{policy_uuid}` reads one, replaces it (204, as
 * Quay's `return {…}, 204` sends no body) and deletes it (`{"uuid"}`). Creating or replacing one
 * marks the alive tags it covers before answering (src/registry/tag-immutability.ts).
 *
 * Access as Quay: an organization's need org:admin and an admin of it, a repository's repo:admin
 * and the admin role (anyone else 403, whether or not it exists); a policy of another scope is 404.
 * Quay's FEATURE_IMMUTABLE_TAGS is always on in Wharf. Quay's superuser access to these routes
 * (global read-only superusers, SUPERUSERS_FULL_ACCESS) is not offered: superusers hold no
 * repository access in Wharf.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { notFound } from "../../errors/domain";
import { requestEvents, requestOrigin } from "../../middleware/event-scope";
import type { ImmutabilityPolicy } from "../../db/schema";
import type { Scope } from "../../identity/scopes";
import { type PolicyScope, repositoryScope } from "../../registry/autoprune-policies";
import {
  createImmutabilityPolicy,
  deleteImmutabilityPolicy,
  findImmutabilityPolicy,
  immutabilityConfig,
  immutabilityView,
  listImmutabilityPolicies,
  updateImmutabilityPolicy,
} from "../../registry/immutability-policies";
import { applyImmutabilityPolicy } from "../../registry/tag-immutability";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { changeableRepository } from "./repository-access";
import { jsonBody } from "./validate";

export const immutabilityPolicyRoutes = new Hono<AppEnv>();

type Resolve = (c: Context<AppEnv>) => Promise<PolicyScope>;

const ofOrganization: Resolve = async (c) => {
  const { org } = await administeredOrganization(c);
  return { namespaceId: org.id, repositoryId: null, namespace: org.username, repositoryName: null };
};

const ofRepository: Resolve = async (c) => {
  const scope = await repositoryScope(c.var.db, await changeableRepository(c, "repo:admin", "admin"));
  if (!scope) throw notFound();
  return scope;
};

/** Quay's `ImmutabilityPolicyConfig`: `tagPattern` required, `tagPatternMatches` default true. */
const policyBody = z.object({
  tagPattern: z.string(),
  tagPatternMatches: z.boolean().optional(),
});

async function policyOf(c: Context<AppEnv>, scope: PolicyScope): Promise<ImmutabilityPolicy> {
  const policy = await findImmutabilityPolicy(c.var.db, scope, c.req.param("policy_uuid")!);
  if (!policy) throw notFound();
  return policy;
}

function mount(base: string, resolve: Resolve) {
  immutabilityPolicyRoutes.get(base, async (c) => {
    const scope = await resolve(c);
    return c.json({ policies: (await listImmutabilityPolicies(c.var.db, scope)).map(immutabilityView) });
  });

  immutabilityPolicyRoutes.post(base, async (c) => {
    const scope = await resolve(c);
    const config = immutabilityConfig(await jsonBody(c, policyBody));
    const policy = await createImmutabilityPolicy(c.var.db, scope, config, requestEvents(c));
    await applyImmutabilityPolicy(c.env, c.var.db, scope, immutabilityView(policy), requestOrigin(c));
    return c.json({ uuid: policy.uuid }, 201);
  });

  immutabilityPolicyRoutes.get(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    return c.json(immutabilityView(await policyOf(c, scope)));
  });

  immutabilityPolicyRoutes.put(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    const policy = await policyOf(c, scope);
    const config = immutabilityConfig(await jsonBody(c, policyBody));
    await updateImmutabilityPolicy(c.var.db, scope, policy, config, requestEvents(c));
    await applyImmutabilityPolicy(c.env, c.var.db, scope, { uuid: policy.uuid, ...config }, requestOrigin(c));
    return c.body(null, 204);
  });

  immutabilityPolicyRoutes.delete(`${base}/:policy_uuid`, async (c) => {
    const scope = await resolve(c);
    const policy = await policyOf(c, scope);
    await deleteImmutabilityPolicy(c.var.db, scope, policy, requestEvents(c));
    return c.json({ uuid: policy.uuid });
  });
}

/** Quay's operation ids: `listOrgImmutabilityPolicies`, `createRepositoryImmutabilityPolicy`, … */
function describe(base: string, kind: "Org" | "Repository", scope: Scope) {
  const whose = kind === "Org" ? "the organization" : "the repository";
  const op = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    operationId: string,
    summary: string,
    extra: { body?: z.ZodType; status?: 201 | 204 } = {},
  ) => documented(method, `${base}${path}`, { operationId, summary, scope, ...extra });
  op("GET", "", `list${kind}ImmutabilityPolicies`, `Lists the immutability policies of ${whose}.`);
  op("POST", "", `create${kind}ImmutabilityPolicy`, `Creates an immutability policy for ${whose}.`, {
    body: policyBody,
    status: 201,
  });
  op("GET", "/:policy_uuid", `get${kind}ImmutabilityPolicy`, `One immutability policy of ${whose}.`);
  op("PUT", "/:policy_uuid", `update${kind}ImmutabilityPolicy`, `Replaces an immutability policy of ${whose}.`, {
    body: policyBody,
    status: 204,
  });
  op("DELETE", "/:policy_uuid", `delete${kind}ImmutabilityPolicy`, `Deletes an immutability policy of ${whose}.`);
}

const ORGANIZATION = "/organization/:orgname/immutabilitypolicy";
const REPOSITORY = "/repository/:repository{.+}/immutabilitypolicy";

mount(ORGANIZATION, ofOrganization);
mount(REPOSITORY, ofRepository);
describe(ORGANIZATION, "Org", "org:admin");
describe(REPOSITORY, "Repository", "repo:admin");
