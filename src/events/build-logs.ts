/**
 * Quay's action-log metadata of the build kinds: `build_dockerfile` as endpoints/building.py
 * `start_build` writes it (`build_id`, `docker_tags`, `repo`, `namespace`, `is_manual`,
 * `manual_user`, and for a trigger's build `trigger_id`, `trigger_kind`, `trigger_metadata`);
 * `cancel_build` as build.py's `log_action("cancel_build", namespace, {"build_uuid": …})`.
 */
import type { RegistryEvent } from "./catalogue";

type Metadata = Record<string, unknown>;
type EventOf<K extends RegistryEvent["kind"]> = Extract<RegistryEvent, { kind: K }>;

const repoOf = (e: RegistryEvent) => {
  const name = e.repository?.name ?? "";
  return name.startsWith(`${e.namespace}/`) ? name.slice((e.namespace ?? "").length + 1) : name;
};

export const BUILD_METADATA = {
  build_dockerfile: (e: EventOf<"build_dockerfile">): Metadata => ({
    build_id: e.data.build,
    docker_tags: e.data.dockerTags,
    repo: repoOf(e),
    namespace: e.namespace,
    is_manual: e.data.triggerMetadata === null,
    manual_user: e.data.manualUser,
    ...(e.data.trigger
      ? {
          trigger_id: e.data.trigger.uuid,
          trigger_kind: e.data.trigger.service,
          trigger_metadata: e.data.triggerMetadata ?? {},
        }
      : {}),
  }),
  cancel_build: (e: EventOf<"cancel_build">): Metadata => ({ build_uuid: e.data.build }),
};
