/**
 * A build's events as Quay's build notifications (seeds §12.1.2–12.1.6): `build_dockerfile` is
 * `build_queued` with Quay's log metadata as payload (endpoints/building.py `start_build`:
 * `build_id`, `docker_tags`, `repo`, `namespace`, `is_manual`, `manual_user`, and the trigger's
 * `trigger_id`, `trigger_kind`, `trigger_metadata`); `build_started`, `build_succeeded`,
 * `build_failed` and `cancel_build` are `build_start`, `build_success`, `build_failure` and
 * `build_cancelled` with the builder's payload (buildman `BuildJobNotifier.send_notification`:
 * `build_id`, `build_name`, `docker_tags`, `trigger_id`, `trigger_kind`, `trigger_metadata`, and
 * `image_id`, `manifest_digests` as `host/repo@digest`, `error_message` where they apply). Each
 * links to the build's page (`homepage` …/build/{uuid}).
 */
import type { RegistryEvent } from "../events/catalogue";
import type { NotificationEventName, RepositoryPlace } from "./events";

const NOTIFIED = {
  build_dockerfile: "build_queued",
  build_started: "build_start",
  build_succeeded: "build_success",
  build_failed: "build_failure",
  cancel_build: "build_cancelled",
} as const satisfies Record<string, NotificationEventName>;

type BuildKind = keyof typeof NOTIFIED;
type BuildEvent = RegistryEvent<BuildKind>;

const isBuildEvent = (event: RegistryEvent): event is BuildEvent => Object.hasOwn(NOTIFIED, event.kind);

function repoOf(name: string) {
  const slash = name.indexOf("/");
  return { namespace: name.slice(0, slash), repo: name.slice(slash + 1) };
}

/** The build notification an event is, with its payload's own fields; null for other events. */
export function buildNotification(event: RegistryEvent): {
  event: NotificationEventName;
  id: string;
  payload: (place: RepositoryPlace) => Record<string, unknown>;
} | null {
  if (!isBuildEvent(event) || !event.repository) return null;
  const data = event.data;
  const trigger = data.trigger
    ? {
        trigger_id: data.trigger.uuid,
        trigger_kind: data.trigger.service,
        trigger_metadata: data.triggerMetadata ?? {},
      }
    : null;
  const repository = event.repository.name;
  if (event.kind === "build_dockerfile") {
    const payload = {
      build_id: data.build,
      docker_tags: data.dockerTags,
      ...repoOf(repository),
      is_manual: data.triggerMetadata === null,
      manual_user: data.manualUser,
      ...(trigger ?? {}),
    };
    return { event: "build_queued", id: data.build, payload: () => payload };
  }
  const payload = (place: RepositoryPlace) => {
    const host = new URL(place.origin).host;
    const fields: Record<string, unknown> = {
      build_id: data.build,
      build_name: data.displayName,
      docker_tags: data.dockerTags,
      trigger_id: trigger?.trigger_id ?? null,
      trigger_kind: trigger?.trigger_kind ?? null,
      trigger_metadata: data.triggerMetadata ?? {},
    };
    if (event.kind === "build_succeeded") {
      const succeeded = event as RegistryEvent<"build_succeeded">;
      if (succeeded.data.imageId !== null) fields.image_id = succeeded.data.imageId;
      if (succeeded.data.manifestDigests.length > 0)
        fields.manifest_digests = succeeded.data.manifestDigests.map((d) => `${host}/${repository}@${d}`);
    }
    if (event.kind === "build_failed")
      fields.error_message = (event as RegistryEvent<"build_failed">).data.errorMessage;
    return fields;
  };
  return { event: NOTIFIED[event.kind], id: data.build, payload };
}
