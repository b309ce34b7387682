/**
 * The repository's Durable Object (durable-objects/RepositoryDO.ts), keyed by the repository's
 * name: the one place that orders its tag writes, manifest deletes and garbage collection.
 */
export function repositoryObject(env: Env, name: string) {
  return env.REPOSITORY.get(env.REPOSITORY.idFromName(name));
}
