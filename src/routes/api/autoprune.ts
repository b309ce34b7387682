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
import { Hono } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AutoprunePolicy } from "../../db/schema";
import type { AppEnv } from "../app-env";
import {
  createPolicy,
  deletePolicy,
  findPolicy,
  listPolicies,
  policyConfig,
  policyView,
  updatePolicy,
} from "../../registry/autoprune-policies";
import { namespaceScope } from "../../registry/policy-scope";
import {
  describePolicyRoutes,
  mountPolicyRoutes,
  organizationPolicies,
  type PolicyScopeOf,
  type PolicyStore,
  repositoryPolicies,
} from "./policy-routes";

export const autopruneRoutes = new Hono<AppEnv>();

/** The caller's scope of policies, once the feature is on and the caller may administer it. */
const guarded =
  (scopeOf: PolicyScopeOf): PolicyScopeOf =>
  async (c) => {
    if (!readConfig(c.env).FEATURE_AUTO_PRUNE) throw notFound();
    return scopeOf(c);
  };

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

const autoprunePolicies: PolicyStore<AutoprunePolicy> = {
  list: listPolicies,
  find: findPolicy,
  view: policyView,
  create: async (c, scope) =>
    createPolicy(c.var.db, scope, policyConfig(await jsonBody(c, policyBody)), requestEvents(c)),
  update: async (c, scope, policy) =>
    updatePolicy(c.var.db, scope, policy, policyConfig(await jsonBody(c, policyBody)), requestEvents(c)),
  remove: (c, scope, policy) => deletePolicy(c.var.db, scope, policy, requestEvents(c)),
};

const ORGANIZATION = "/organization/:orgname/autoprunepolicy";
const USER = "/user/autoprunepolicy";
const REPOSITORY = "/repository/:repository{.+}/autoprunepolicy";
const described = {
  noun: "AutoPrunePolicy",
  label: "auto-prune",
  body: policyBody,
  createNote: " (method and value required)",
};

mountPolicyRoutes(autopruneRoutes, ORGANIZATION, guarded(organizationPolicies), autoprunePolicies);
mountPolicyRoutes(
  autopruneRoutes,
  USER,
  guarded(async (c) => namespaceScope(callerWith(c.var.caller, "user:admin"))),
  autoprunePolicies,
);
mountPolicyRoutes(autopruneRoutes, REPOSITORY, guarded(repositoryPolicies), autoprunePolicies);
describePolicyRoutes(ORGANIZATION, {
  ...described,
  kind: "Organization",
  whose: "the organization",
  scope: "org:admin",
});
describePolicyRoutes(USER, {
  ...described,
  kind: "User",
  whose: "the signed-in user's namespace",
  scope: "user:admin",
});
describePolicyRoutes(REPOSITORY, { ...described, kind: "Repository", whose: "the repository", scope: "repo:admin" });
