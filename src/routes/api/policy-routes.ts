/**
 * What Quay's two kinds of tag policy share over HTTP (auto-prune in ./autoprune.ts, immutability
 * in ./immutability-policies.ts): the scopes a caller reaches them through, the same five
 * operations under each scope's path, and their descriptions with Quay's operation ids.
 *
 * Under a scope's path: `GET` lists (`{"policies": […]}`), `POST` creates (201 `{"uuid"}`),
 * `GET|PUT|DELETE …/{policy_uuid}` reads one, replaces it (204 without a body) and deletes it
 * (`{"uuid"}`). A policy of another scope is 404.
 */
import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { notFound } from "../../errors/domain";
import type { Scope } from "../../identity/scopes";
import { namespaceScope, type PolicyScope, repositoryScope } from "../../registry/policy-scope";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { changeableRepository } from "./repository-access";

/** The scope of policies the request's path names, once the caller may administer it. */
export type PolicyScopeOf = (c: Context<AppEnv>) => Promise<PolicyScope>;

/** An organization's own policies: org:admin and an admin of it (anyone else 403). */
export const organizationPolicies: PolicyScopeOf = async (c) => namespaceScope((await administeredOrganization(c)).org);

/** One repository's own policies: repo:admin and the admin role (anyone else 403). */
export const repositoryPolicies: PolicyScopeOf = async (c) => {
  const scope = await repositoryScope(c.var.db, await changeableRepository(c, "repo:admin", "admin"));
  if (!scope) throw notFound();
  return scope;
};

/** What a kind of policy does for each operation; the request's body is read by the kind. */
export interface PolicyStore<Policy extends { uuid: string }> {
  list(db: Db, scope: PolicyScope): Promise<Policy[]>;
  find(db: Db, scope: PolicyScope, uuid: string): Promise<Policy | undefined>;
  view(policy: Policy): unknown;
  create(c: Context<AppEnv>, scope: PolicyScope): Promise<{ uuid: string }>;
  update(c: Context<AppEnv>, scope: PolicyScope, policy: Policy): Promise<void>;
  remove(c: Context<AppEnv>, scope: PolicyScope, policy: Policy): Promise<void>;
}

/** Serves the five operations on the policies of `base`'s scope. */
export function mountPolicyRoutes<Policy extends { uuid: string }>(
  routes: Hono<AppEnv>,
  base: string,
  scopeOf: PolicyScopeOf,
  store: PolicyStore<Policy>,
) {
  const policyOf = async (c: Context<AppEnv>, scope: PolicyScope): Promise<Policy> => {
    const policy = await store.find(c.var.db, scope, c.req.param("policy_uuid")!);
    if (!policy) throw notFound();
    return policy;
  };

  routes.get(base, async (c) => {
    const scope = await scopeOf(c);
    return c.json({ policies: (await store.list(c.var.db, scope)).map(store.view) });
  });

  routes.post(base, async (c) => {
    const scope = await scopeOf(c);
    return c.json({ uuid: (await store.create(c, scope)).uuid }, 201);
  });

  routes.get(`${base}/:policy_uuid`, async (c) => {
    const scope = await scopeOf(c);
    return c.json(store.view(await policyOf(c, scope)));
  });

  routes.put(`${base}/:policy_uuid`, async (c) => {
    const scope = await scopeOf(c);
    await store.update(c, scope, await policyOf(c, scope));
    return c.body(null, 204);
  });

  routes.delete(`${base}/:policy_uuid`, async (c) => {
    const scope = await scopeOf(c);
    const policy = await policyOf(c, scope);
    await store.remove(c, scope, policy);
    return c.json({ uuid: policy.uuid });
  });
}

/** How the five operations of one kind and scope are described. */
export interface PolicyDocs {
  /** Quay's word for the scope in operation ids: `Org`, `Organization`, `User`, `Repository`. */
  kind: string;
  /** Quay's word for the policy in operation ids: `ImmutabilityPolicy`, `AutoPrunePolicy`. */
  noun: string;
  /** The policy in summaries: `immutability`, `auto-prune`. */
  label: string;
  /** Whose policies, in summaries: `the organization`, … */
  whose: string;
  scope: Scope;
  body: z.ZodType;
  /** Added to the create summary. */
  createNote?: string;
}

/** Quay's operation ids: `list{kind}{noun}s` (`listOrgImmutabilityPolicies`), `create{kind}{noun}`, … */
export function describePolicyRoutes(base: string, docs: PolicyDocs) {
  const { kind, noun, label, whose, scope, body } = docs;
  const op = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    operationId: string,
    summary: string,
    extra: { body?: z.ZodType; status?: 201 | 204 } = {},
  ) => documented(method, `${base}${path}`, { operationId, summary, scope, ...extra });
  const plural = noun.replace(/y$/, "ies");
  op("GET", "", `list${kind}${plural}`, `Lists the ${label} policies of ${whose}.`);
  op("POST", "", `create${kind}${noun}`, `Creates an ${label} policy for ${whose}${docs.createNote ?? ""}.`, {
    body,
    status: 201,
  });
  op("GET", "/:policy_uuid", `get${kind}${noun}`, `One ${label} policy of ${whose}.`);
  op("PUT", "/:policy_uuid", `update${kind}${noun}`, `Replaces an ${label} policy of ${whose}.`, { body, status: 204 });
  op("DELETE", "/:policy_uuid", `delete${kind}${noun}`, `Deletes an ${label} policy of ${whose}.`);
}
