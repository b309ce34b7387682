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
import { Hono } from "hono";
import { z } from "zod";
import { requestEvents, requestOrigin } from "../../middleware/event-scope";
import type { ImmutabilityPolicy } from "../../db/schema";
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
import {
  describePolicyRoutes,
  mountPolicyRoutes,
  organizationPolicies,
  type PolicyStore,
  repositoryPolicies,
} from "./policy-routes";
import { jsonBody } from "./validate";

export const immutabilityPolicyRoutes = new Hono<AppEnv>();

/** Quay's `ImmutabilityPolicyConfig`: `tagPattern` required, `tagPatternMatches` default true. */
const policyBody = z.object({
  tagPattern: z.string(),
  tagPatternMatches: z.boolean().optional(),
});

const immutabilityPolicies: PolicyStore<ImmutabilityPolicy> = {
  list: listImmutabilityPolicies,
  find: findImmutabilityPolicy,
  view: immutabilityView,
  async create(c, scope) {
    const config = immutabilityConfig(await jsonBody(c, policyBody));
    const policy = await createImmutabilityPolicy(c.var.db, scope, config, requestEvents(c));
    await applyImmutabilityPolicy(c.env, c.var.db, scope, immutabilityView(policy), requestOrigin(c));
    return policy;
  },
  async update(c, scope, policy) {
    const config = immutabilityConfig(await jsonBody(c, policyBody));
    await updateImmutabilityPolicy(c.var.db, scope, policy, config, requestEvents(c));
    await applyImmutabilityPolicy(c.env, c.var.db, scope, { uuid: policy.uuid, ...config }, requestOrigin(c));
  },
  remove: (c, scope, policy) => deleteImmutabilityPolicy(c.var.db, scope, policy, requestEvents(c)),
};

const ORGANIZATION = "/organization/:orgname/immutabilitypolicy";
const REPOSITORY = "/repository/:repository{.+}/immutabilitypolicy";
const described = { noun: "ImmutabilityPolicy", label: "immutability", body: policyBody };

mountPolicyRoutes(immutabilityPolicyRoutes, ORGANIZATION, organizationPolicies, immutabilityPolicies);
mountPolicyRoutes(immutabilityPolicyRoutes, REPOSITORY, repositoryPolicies, immutabilityPolicies);
describePolicyRoutes(ORGANIZATION, { ...described, kind: "Org", whose: "the organization", scope: "org:admin" });
describePolicyRoutes(REPOSITORY, { ...described, kind: "Repository", whose: "the repository", scope: "repo:admin" });
