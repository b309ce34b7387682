/**
 * The upstream registry client the proxy cache uses, behind one function so that the workerd
 * tests can stand a fake registry in for it (test/workers/helpers/fake-upstream.ts). The client
 * itself (src/upstream/client.ts) sends every request through the outbound guard.
 */
import { upstreamRegistry } from "../upstream/client";
import type { UpstreamConfig, UpstreamRegistry } from "../upstream/registry";

export type UpstreamFactory = (env: Env, config: UpstreamConfig) => UpstreamRegistry;

let factory: UpstreamFactory = upstreamRegistry;

/** The client for `config`. */
export function openUpstream(env: Env, config: UpstreamConfig): UpstreamRegistry {
  return factory(env, config);
}

/** Replaces the client (tests); returns a function that puts the previous one back. */
export function useUpstreamFactory(next: UpstreamFactory): () => void {
  const previous = factory;
  factory = next;
  return () => {
    factory = previous;
  };
}

/**
 * The upstream repository a cache repository stands for: `<org>/<rest>` is `<rest>` upstream,
 * under the configured namespace when the organization caches one namespace (Quay's
 * `upstream_registry_namespace`, data/registry_model/registry_proxy_model.py). Docker Hub's
 * `library/` for single names is the client's (it knows its upstream is docker.io).
 */
export function upstreamRepository(cacheRepository: string, namespace: string | null): string {
  const rest = cacheRepository.slice(cacheRepository.indexOf("/") + 1);
  return namespace ? `${namespace}/${rest}` : rest;
}
