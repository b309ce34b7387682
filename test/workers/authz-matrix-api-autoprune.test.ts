/**
 * The /api/v1 authorization matrix, auto-prune policies: every `…/autoprunepolicy` route of an
 * organization, the caller's own namespace and a repository, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/policy.py` (and the README): an organization's policies are for its
 * admins with org:admin (anyone else 403, whether or not the organization exists; superusers are
 * not its admins); a repository's for its admins with repo:admin (403 otherwise, existing or not);
 * every signed-in user manages their own namespace's with user:admin. Robots act through /v2 only.
 */
import { autoprunePolicies } from "../../src/db/schema";
import { createPolicy, listPolicies } from "../../src/registry/autoprune-policies";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { defineMatrix, ORG, ORG_ADMIN, PRIVATE, REPO_ADMINS, SIGNED_IN, type Route } from "./authz-matrix-api/harness";
import {
  namespacePolicies,
  type PolicyKind,
  policyRoutes,
  privateRepositoryPolicies,
} from "./authz-matrix-api/policy-routes";

const KEEP_3 = { method: "number_of_tags", value: 3, tagPattern: null, tagPatternMatches: true } as const;

/** One policy keeping 3 tags; the value the matrix follows is the policy's `value`. */
const AUTOPRUNE: PolicyKind = {
  table: autoprunePolicies,
  seed: async (scope) => (await createPolicy(db(), scope, KEEP_3, fixtureEvents())).uuid,
  view: (uuid) => ({ uuid, ...KEEP_3 }),
  held: async (scope) => (await listPolicies(db(), scope)).map((p) => [p.uuid, JSON.parse(p.value)]),
  seeded: 3,
  create: { body: { method: "creation_date", value: "7d", tagPattern: "^v", tagPatternMatches: true }, value: "7d" },
  update: { body: { method: "number_of_tags", value: 9 }, value: 9 },
};

const ROUTES: Record<string, Route> = {
  ...policyRoutes(AUTOPRUNE, () => namespacePolicies(ORG), {
    base: `/organization/${ORG}/autoprunepolicy`,
    key: "/organization/:orgname/autoprunepolicy",
    scope: "org:admin",
    allow: ORG_ADMIN,
  }),
  // Every signed-in user, on their own namespace (Quay's require_user_admin).
  ...policyRoutes(AUTOPRUNE, (ctx) => namespacePolicies(ctx.account), {
    base: "/user/autoprunepolicy",
    key: "/user/autoprunepolicy",
    scope: "user:admin",
    allow: SIGNED_IN,
  }),
  ...policyRoutes(AUTOPRUNE, privateRepositoryPolicies, {
    base: `/repository/${PRIVATE}/autoprunepolicy`,
    key: "/repository/:repository{.+}/autoprunepolicy",
    scope: "repo:admin",
    allow: REPO_ADMINS,
  }),
};

defineMatrix("autoprune", ROUTES);
