/**
 * Proxy-cache configurations (Quay's ProxyCacheConfig, data/model/proxy_cache.py): an organization
 * made a pull-through cache of an upstream registry, or of one namespace of it. Created and
 * deleted by the organization's admins (src/routes/api/proxy-cache.ts); read by the pull path
 * (src/proxy/pull-through.ts) and by the token endpoint, which grants no push into a cache.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { runBatch } from "../db/client";
import { proxyCacheConfigs, repositories, tags, type ProxyCacheConfig, type User } from "../db/schema";
import { modelError, notFound } from "../errors/domain";
import { newEvent } from "../events/catalogue";
import { eventStatement, type EventScope } from "../events/outbox";
import { decryptSecret, encryptSecret } from "../identity/secrets";
import { type UpstreamConfig, UpstreamError } from "../upstream/registry";
import { findProxyCache, forgetProxyCache } from "./lookup";
import { loggableError } from "../lib/loggable-error";

/** Quay's DEFAULT_PROXY_CACHE_EXPIRATION (data/database.py): a cached tag lives a day after its last pull. */
export const DEFAULT_EXPIRATION_S = 86_400;

/** What an organization's admin sends (Quay's create_proxy_cache_config arguments). */
export interface ProxyCacheInput {
  upstreamRegistry: string;
  username: string | null;
  password: string | null;
  expirationS: number;
  insecure: boolean;
}

/** `upstream_registry` taken apart: the registry's host (with its port) and the namespace it is limited to. */
export interface UpstreamTarget {
  host: string;
  namespace: string | null;
}

/** A host as a Distribution client writes it: DNS labels or an IPv4 address, an optional port. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[0-9]{1,5})?$/;
/** A repository namespace as the distribution spec's name grammar allows its components. */
const NAMESPACE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/**
 * `host` or `host/namespace`, or null when it is neither (a scheme, credentials, a query, an empty
 * part). Quay's `validate_upstream_registry` refuses the same before storing anything.
 */
export function parseUpstreamRegistry(text: string): UpstreamTarget | null {
  const [host = "", ...rest] = text.trim().toLowerCase().split("/");
  if (!HOST.test(host) || host.length > 255) return null;
  const port = host.includes(":") ? Number(host.slice(host.lastIndexOf(":") + 1)) : null;
  if (port !== null && (port < 1 || port > 65_535)) return null;
  if (rest.length === 0) return { host, namespace: null };
  const namespace = rest.join("/");
  return NAMESPACE.test(namespace) && namespace.length <= 255 ? { host, namespace } : null;
}

/** The client's view of a configuration: credentials unsealed, the host as the client takes it. */
export async function upstreamConfigOf(
  env: { WHARF_SECRET_KEY?: string },
  config: Pick<ProxyCacheConfig, "upstreamRegistry" | "insecure" | "upstreamUsernameSealed" | "upstreamPasswordSealed">,
): Promise<UpstreamConfig & { namespace: string | null }> {
  const target = parseUpstreamRegistry(config.upstreamRegistry);
  if (!target) throw new Error(`stored upstream_registry ${config.upstreamRegistry} does not parse`);
  const username = config.upstreamUsernameSealed && (await decryptSecret(env, config.upstreamUsernameSealed));
  const password = config.upstreamPasswordSealed && (await decryptSecret(env, config.upstreamPasswordSealed));
  return {
    host: target.host,
    namespace: target.namespace,
    insecure: config.insecure,
    // Quay sends credentials only when both were given (proxy/__init__.py `_credentials`).
    ...(username && password ? { credentials: { username, password } } : {}),
  };
}

/** Quay's refusal when the configuration cannot be stored (endpoints/api/organization.py). */
const CREATE_FAILED = "Error while creating Proxy cache configuration";

/**
 * Makes `org` a proxy cache, with its `create_proxy_cache_config` event, in one batch. Refused as
 * Quay refuses: a configuration already there, immutable tags in the organization (a cache's tags
 * move with the upstream), an upstream that is no `host[/namespace]`.
 */
export async function createProxyCache(
  { db, core }: { db: Db; core: Db },
  env: { WHARF_SECRET_KEY?: string },
  org: User,
  input: ProxyCacheInput,
  events: EventScope,
): Promise<void> {
  if (await findProxyCache(db, org.username)) throw modelError("Proxy Cache Configuration already exists");
  // The organization's tags are in its core's database (docs/sharding-the-registry-core.md).
  if (await hasImmutableTags(core, org.username))
    throw modelError("Cannot convert organization to proxy cache: immutable tags exist");
  if (!parseUpstreamRegistry(input.upstreamRegistry)) throw modelError(CREATE_FAILED);
  const event = newEvent("create_proxy_cache_config", { namespace: org.username, repository: null }, events.origin, {
    upstreamRegistry: input.upstreamRegistry,
  });
  const insert = db
    .insert(proxyCacheConfigs)
    .values({
      namespaceId: org.id,
      upstreamRegistry: input.upstreamRegistry.trim().toLowerCase(),
      upstreamUsernameSealed: input.username === null ? null : await encryptSecret(env, input.username),
      upstreamPasswordSealed: input.password === null ? null : await encryptSecret(env, input.password),
      expirationS: input.expirationS,
      insecure: input.insecure,
      // D1's clock, as the organization's repositories' created_at: which were pushed before the
      // organization became a cache is told by comparing the two (src/proxy/lookup.ts).
    })
    .onConflictDoNothing();
  try {
    await runBatch(db, [insert, eventStatement(db, event)]);
  } catch (err) {
    console.error(JSON.stringify({ msg: "proxy cache configuration not stored", err: loggableError(err) }));
    throw modelError(CREATE_FAILED);
  }
  forgetProxyCache(org.username);
  events.publish([event]);
}

/** Removes `org`'s configuration with its `delete_proxy_cache_config` event; 404 when there is none. */
export async function deleteProxyCache(db: Db, org: User, events: EventScope): Promise<void> {
  if (!(await findProxyCache(db, org.username))) throw notFound();
  const event = newEvent("delete_proxy_cache_config", { namespace: org.username, repository: null }, events.origin, {});
  await runBatch(db, [
    db.delete(proxyCacheConfigs).where(eq(proxyCacheConfigs.namespaceId, org.id)),
    eventStatement(db, event),
  ]);
  forgetProxyCache(org.username);
  events.publish([event]);
}

/** Whether any alive tag of the organization's repositories is immutable (Quay's `namespace_has_immutable_tags`). */
async function hasImmutableTags(db: Db, namespace: string): Promise<boolean> {
  const row = await db
    .select({ one: sql<number>`1` })
    .from(tags)
    .innerJoin(repositories, eq(repositories.id, tags.repositoryId))
    .where(and(eq(repositories.namespace, namespace), eq(tags.immutable, true)))
    .limit(1)
    .get();
  return row !== undefined;
}

/** Quay's `proxy_cache_view`: empty strings when the organization is no cache. */
export function proxyCacheView(config: ProxyCacheConfig | undefined) {
  return {
    upstream_registry: config ? config.upstreamRegistry : "",
    expiration_s: config ? config.expirationS : "",
    insecure: config ? config.insecure : "",
  };
}

/** Quay's answers to a validation that reached no verdict (endpoints/api/organization.py). */
const LOGIN_FAILED = "Failed login to remote registry. Please verify entered details and try again.";
const VALIDATION_FAILED = "Failed to validate Proxy cache configuration";

/**
 * Quay's `validateProxyCacheConfig`: asks the upstream's `/v2/` with the credentials given.
 * "Valid" when they were accepted, "Anonymous" when none were given and the upstream lets anyone
 * pull; Quay's "Failed login…" when the upstream refused them or could not be reached (Quay's
 * UpstreamRegistryError), "Failed to validate…" for any other answer. Nothing is stored.
 */
export async function validateProxyCache(
  input: ProxyCacheInput,
  open: (config: UpstreamConfig) => { ping(): Promise<"valid" | "anonymous"> },
): Promise<"Valid" | "Anonymous"> {
  const target = parseUpstreamRegistry(input.upstreamRegistry);
  if (!target) throw modelError(VALIDATION_FAILED);
  const credentials =
    input.username !== null && input.password !== null
      ? { credentials: { username: input.username, password: input.password } }
      : {};
  try {
    const verdict = await open({ host: target.host, insecure: input.insecure, ...credentials }).ping();
    return verdict === "valid" ? "Valid" : "Anonymous";
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    console.warn(JSON.stringify({ msg: "proxy cache validation failed", kind: err.kind, err: err.message }));
    throw modelError(["unauthorized", "unreachable", "timeout"].includes(err.kind) ? LOGIN_FAILED : VALIDATION_FAILED);
  }
}
