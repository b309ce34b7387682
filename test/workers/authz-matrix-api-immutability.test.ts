/**
 * The /api/v1 authorization matrix, immutability policies: every `…/immutabilitypolicy` route of
 * an organization and of a repository, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * As Quay's `endpoints/api/immutability_policy.py` (and the README): an organization's policies are
 * for its admins with org:admin (anyone else 403, whether or not the organization exists;
 * superusers are not its admins); a repository's for its admins with repo:admin (403 otherwise,
 * existing or not). Robots act through /v2 only.
 */
import { immutabilityPolicies } from "../../src/db/schema";
import { createImmutabilityPolicy, listImmutabilityPolicies } from "../../src/registry/immutability-policies";
import { fixtureEvents } from "./helpers/events";
import { db } from "./helpers/accounts";
import { defineMatrix, ORG, ORG_ADMIN, PRIVATE, REPO_ADMINS, type Route } from "./authz-matrix-api/harness";
import {
  namespacePolicies,
  type PolicyKind,
  policyRoutes,
  privateRepositoryPolicies,
} from "./authz-matrix-api/policy-routes";

/** One policy of a pattern no fixture tag matches; the value the matrix follows is the pattern. */
const IMMUTABILITY: PolicyKind = {
  table: immutabilityPolicies,
  seed: async (scope) =>
    (await createImmutabilityPolicy(db(), scope, { tagPattern: "^frozen-", tagPatternMatches: true }, fixtureEvents()))
      .uuid,
  view: (uuid) => ({ uuid, tagPattern: "^frozen-", tagPatternMatches: true }),
  held: async (scope) => (await listImmutabilityPolicies(db(), scope)).map((p) => [p.uuid, p.tagPattern]),
  seeded: "^frozen-",
  create: { body: { tagPattern: "^sealed-" }, value: "^sealed-" },
  update: { body: { tagPattern: "^sealed-" }, value: "^sealed-" },
};

const ROUTES: Record<string, Route> = {
  ...policyRoutes(IMMUTABILITY, () => namespacePolicies(ORG), {
    base: `/organization/${ORG}/immutabilitypolicy`,
    key: "/organization/:orgname/immutabilitypolicy",
    scope: "org:admin",
    allow: ORG_ADMIN,
  }),
  ...policyRoutes(IMMUTABILITY, privateRepositoryPolicies, {
    base: `/repository/${PRIVATE}/immutabilitypolicy`,
    key: "/repository/:repository{.+}/immutabilitypolicy",
    scope: "repo:admin",
    allow: REPO_ADMINS,
  }),
};

defineMatrix("immutability", ROUTES);
