/**
 * Proxy-cache configuration of an organization (Quay `endpoints/api/organization.py`,
 * OrganizationProxyCacheConfig and ProxyCacheConfigValidation, `show_if(features.PROXY_CACHE)`):
 * - `GET …/proxycache` (getProxyCacheConfig): `{"upstream_registry","expiration_s","insecure"}`,
 *   empty strings when the organization is no cache; for its members (403 otherwise).
 * - `POST …/proxycache` (createProxyCacheConfig): 201 "Created"; 400 when one exists already.
 * - `DELETE …/proxycache` (deleteProxyCacheConfig): 201 "Deleted", as Quay answers; 404 when none.
 * - `POST …/validateproxycache` (validateProxyCacheConfig): 202 "Valid" or "Anonymous" after
 *   asking the upstream's `/v2/`, else 400 with Quay's words.
 * The last three are the organization admins'. Quay's methods name no OAuth scope; Wharf asks
 * org:admin of tokens, as for every other organization setting. The credentials are sealed and
 * never returned. With FEATURE_PROXY_CACHE off every route is 404, as a Quay route `show_if` hides.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { notFound } from "../../errors/domain";
import { requestEvents } from "../../middleware/event-scope";
import {
  createProxyCache,
  DEFAULT_EXPIRATION_S,
  deleteProxyCache,
  type ProxyCacheInput,
  proxyCacheView,
  validateProxyCache,
} from "../../proxy/config";
import { findProxyCache } from "../../proxy/lookup";
import { openUpstream } from "../../proxy/upstream";
import type { AppEnv } from "../app-env";
import { namespaceCoreOf } from "./core";
import { documented } from "./openapi";
import { administeredOrganization, organizationStanding } from "./organization-access";
import { jsonBody } from "./validate";

export const proxyCacheRoutes = new Hono<AppEnv>();

/**
 * Quay's NewProxyCacheConfig requires `upstream_registry`; the other fields are the model's
 * (data/model/proxy_cache.py `create_proxy_cache_config`). Quay's UI also sends `org_name`: the
 * path's organization is the one configured, whatever it says.
 */
const configBody = z.object({
  upstream_registry: z.string().min(1).max(1024),
  upstream_registry_username: z.string().max(1024).nullable().optional(),
  upstream_registry_password: z.string().max(4096).nullable().optional(),
  expiration_s: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400)
    .nullable()
    .optional(),
  insecure: z.boolean().nullable().optional(),
  org_name: z.string().nullable().optional(),
});

async function configInput(c: Context<AppEnv>): Promise<ProxyCacheInput> {
  const body = await jsonBody(c, configBody);
  return {
    upstreamRegistry: body.upstream_registry,
    username: body.upstream_registry_username || null,
    password: body.upstream_registry_password || null,
    expirationS: body.expiration_s ?? DEFAULT_EXPIRATION_S,
    insecure: body.insecure ?? false,
  };
}

function requireFeature(c: Context<AppEnv>): void {
  if (!readConfig(c.env).FEATURE_PROXY_CACHE) throw notFound();
}

const PATH = "/organization/:orgname/proxycache";

documented("GET", PATH, {
  operationId: "getProxyCacheConfig",
  summary: "The organization's proxy-cache configuration (empty strings when it is no cache).",
  scope: "org:admin",
});
proxyCacheRoutes.get(PATH, async (c) => {
  requireFeature(c);
  const { org } = await organizationStanding(c);
  return c.json(proxyCacheView(await findProxyCache(c.var.db, org.username)));
});

documented("POST", PATH, {
  operationId: "createProxyCacheConfig",
  summary: "Makes the organization a pull-through cache of an upstream registry.",
  scope: "org:admin",
  body: configBody,
  status: 201,
});
proxyCacheRoutes.post(PATH, async (c) => {
  requireFeature(c);
  const { org } = await administeredOrganization(c);
  const core = await namespaceCoreOf(c, org.username);
  await createProxyCache({ db: c.var.db, core }, c.env, org, await configInput(c), requestEvents(c));
  return c.json("Created", 201);
});

documented("DELETE", PATH, {
  operationId: "deleteProxyCacheConfig",
  summary: "Removes the organization's proxy-cache configuration (what it cached stays).",
  scope: "org:admin",
  status: 201,
});
proxyCacheRoutes.delete(PATH, async (c) => {
  requireFeature(c);
  const { org } = await administeredOrganization(c);
  await deleteProxyCache(c.var.db, org, requestEvents(c));
  return c.json("Deleted", 201);
});

documented("POST", "/organization/:orgname/validateproxycache", {
  operationId: "validateProxyCacheConfig",
  summary: "Asks the upstream registry whether the configuration would work.",
  scope: "org:admin",
  body: configBody,
  status: 202,
});
proxyCacheRoutes.post("/organization/:orgname/validateproxycache", async (c) => {
  requireFeature(c);
  await administeredOrganization(c);
  const verdict = await validateProxyCache(await configInput(c), (config) => openUpstream(c.env, config));
  return c.json(verdict, 202);
});
