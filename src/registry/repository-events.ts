/**
 * Events about a repository (src/events/catalogue.ts): the repository's id and name, and its
 * namespace, filled in the same way wherever a repository write emits.
 */
import { type EventData, type EventKind, newEvent, type RegistryEvent } from "../events/catalogue";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { namespaceOf } from "./repository-name";
import { clock } from "../lib/clock";

export function repositoryEvent<K extends EventKind>(
  kind: K,
  repository: RepositoryRef,
  origin: EventOrigin,
  data: EventData<K>,
  atMs = clock.now(),
): RegistryEvent<K> {
  const place = { namespace: namespaceOf(repository.name), repository: { id: repository.id, name: repository.name } };
  return newEvent(kind, place, origin, data, atMs);
}
