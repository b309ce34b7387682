/**
 * From a registry event to Quay's action-log entry: who performed it, and the metadata Quay's
 * `log_action` / `track_and_log` calls write for that kind (Quay's endpoints/api/*.py,
 * util/audit.py), so scripts reading Quay's logs read Wharf's. One table, {@link METADATA}, per
 * kind; a kind without an entry gets {@link fallbackMetadata} (the event's own fields in Quay's
 * snake_case), which covers the kinds whose Quay metadata is nothing but those fields.
 *
 * What Quay writes and Wharf cannot: `user-agent` on push_repo and pull_repo (the events do not
 * carry it) and `resolved_ip` (Wharf resolves no addresses).
 */
import type { EventKind, RegistryEvent } from "./catalogue";
import type { Actor } from "./envelope";
import { QUOTA_ADMIN_METADATA } from "./quota-admin-logs";
import { BUILD_METADATA } from "./build-logs";

/** The account that performed an entry's action: Quay's `performer`. */
export interface Performer {
  id: number;
  name: string;
  kind: "user" | "robot";
}

/** Quay's performer is the account acting: a token's user; nobody for Wharf's passes or anonymous callers. */
export function performerOf(actor: Actor): Performer | null {
  switch (actor.kind) {
    case "user":
    case "robot":
      return { id: actor.id, name: actor.name, kind: actor.kind };
    case "token":
      return { id: actor.id, name: actor.name, kind: "user" };
    default:
      return null;
  }
}

type Metadata = Record<string, unknown>;
type EventOf<K extends EventKind> = RegistryEvent<K>;

/** Quay's `repo`: the repository's name inside its namespace. */
function repoOf(event: RegistryEvent): string | undefined {
  const name = event.repository?.name;
  if (!name) return undefined;
  return event.namespace && name.startsWith(`${event.namespace}/`) ? name.slice(event.namespace.length + 1) : name;
}

/** Quay's API calls add the acting user's name as `username`. */
function usernameOf(event: RegistryEvent): Metadata {
  const performer = performerOf(event.actor);
  return performer ? { username: performer.name } : {};
}

/** `repo` and `namespace`, as every repository action of Quay's writes them. */
function place(event: RegistryEvent): Metadata {
  const repo = repoOf(event);
  return repo === undefined ? {} : { repo, namespace: event.namespace };
}

/** Quay's repository-notification kinds: the place, the notification's uuid, event and method. */
function notificationMetadata(
  e: EventOf<"add_repo_notification" | "delete_repo_notification" | "reset_repo_notification">,
): Metadata {
  const { uuid, event, method } = e.data.notification;
  return { ...place(e), notification_id: uuid, event, method };
}

/** Quay's namespace-notification kinds: the namespace, the notification's uuid, event and method. */
function namespaceNotificationMetadata(
  e: EventOf<"create_namespace_notification" | "delete_namespace_notification" | "reset_namespace_notification">,
): Metadata {
  const { uuid, event, method } = e.data.notification;
  return { namespace: e.namespace, notification_id: uuid, event, method };
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A referenced account, team, robot or application by name, as Quay names them in metadata. */
function flatten(value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (typeof record.name === "string") return record.name;
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [snake(k), flatten(v)]));
  }
  return value;
}

/** The event's own fields in Quay's key style, with the place and the acting user. */
export function fallbackMetadata(event: RegistryEvent): Metadata {
  const data = Object.fromEntries(Object.entries(event.data).map(([k, v]) => [snake(k), flatten(v)]));
  return { ...usernameOf(event), ...place(event), ...data };
}

/** A delegate of a repository permission: Quay writes `username` for an account, `team` for a team. */
function delegateKey(delegate: { kind: string; name: string }): Metadata {
  return delegate.kind === "team" ? { team: delegate.name } : { username: delegate.name };
}

/** A robot's short name, as Quay's robot endpoints log it (`robot`). */
const robotShort = (name: string) => name.slice(name.indexOf("+") + 1);

/** Quay's `type` of a login, by where the credential was presented. */
const LOGIN_TYPE = { v2auth: "v2auth", signin: "quayauth", authorizeapp: "oauth", v1: "v1", federation: "federation" };

/** Quay's `kind` of a login, by the credential. */
const LOGIN_KIND = {
  password: "user",
  oauth: "oauth",
  app: "app_specific_token",
  robot: "robot",
  "federated-robot": "robot",
  oidc: "oidc",
};

/** Quay's failure messages, by reason. */
const LOGIN_MESSAGE = {
  invalid: "Invalid Username or Password",
  not_accepted: "This credential is not accepted here",
};

const tagged = (e: EventOf<"create_tag" | "delete_tag">) => ({ tag: e.data.tag });

/** Quay's metadata per kind; kinds absent here use {@link fallbackMetadata}. */
const METADATA: { [K in EventKind]?: (event: EventOf<K>) => Metadata } = {
  // util/audit.py track_and_log (`repo`, `namespace`, the caller's `username`) and the reference.
  push_repo: (e) => ({
    ...place(e),
    ...usernameOf(e),
    ...(e.data.tag === null ? {} : { tag: e.data.tag }),
    manifest_digest: e.data.digest,
    ...(e.data.userAgent === undefined ? {} : { "user-agent": e.data.userAgent }),
  }),
  create_repo: (e) => place(e),
  delete_repo: (e) => place(e),
  change_repo_visibility: (e) => ({ ...place(e), visibility: e.data.visibility }),
  set_repo_description: (e) => ({ ...place(e), description: e.data.description }),
  change_repo_state: (e) => ({ ...place(e), state_changed: e.data.state }),
  // endpoints/api/repositorynotification.py
  add_repo_notification: (e) => notificationMetadata(e),
  delete_repo_notification: (e) => notificationMetadata(e),
  reset_repo_notification: (e) => notificationMetadata(e),
  // endpoints/api/namespacenotification.py
  create_namespace_notification: (e) => namespaceNotificationMetadata(e),
  delete_namespace_notification: (e) => namespaceNotificationMetadata(e),
  reset_namespace_notification: (e) => namespaceNotificationMetadata(e),
  // endpoints/api/tag.py
  create_tag: (e) => ({
    ...usernameOf(e),
    ...place(e),
    ...tagged(e),
    manifest_digest: e.data.digest,
    original_manifest_digest: null,
  }),
  move_tag: (e) => ({
    ...usernameOf(e),
    ...place(e),
    tag: e.data.tag,
    manifest_digest: e.data.digest,
    original_manifest_digest: e.data.previousDigest,
  }),
  delete_tag: (e) => ({ ...usernameOf(e), ...place(e), ...tagged(e) }),
  revert_tag: (e) => ({ ...usernameOf(e), repo: repoOf(e), tag: e.data.tag, manifest_digest: e.data.digest }),
  change_tag_expiration: (e) => ({
    ...usernameOf(e),
    ...place(e),
    tag: e.data.tag,
    expiration_date: seconds(e.data.expiration),
    old_expiration_date: seconds(e.data.previousExpiration),
  }),
  permanently_delete_tag: (e) => ({ ...usernameOf(e), ...place(e), tag: e.data.tag, manifest_digest: e.data.digest }),
  // Quay's auto-prune worker names itself as the performer in the metadata.
  autoprune_tag_delete: (e) => ({ ...place(e), tag: e.data.tag, performer: "autoprune worker" }),
  // endpoints/api/manifest.py
  manifest_label_add: (e) => ({
    ...place(e),
    id: e.data.label.id,
    key: e.data.label.key,
    value: e.data.label.value,
    manifest_digest: e.data.digest,
    media_type: e.data.label.mediaType,
  }),
  manifest_label_delete: (e) => ({
    ...place(e),
    id: e.data.label.id,
    key: e.data.label.key,
    value: e.data.label.value,
    manifest_digest: e.data.digest,
  }),
  // endpoints/api/permission.py: the delegate, not the performer, is `username`.
  add_repo_permission: (e) => ({ ...place(e), ...delegateKey(e.data.delegate), role: e.data.role }),
  change_repo_permission: (e) => ({ ...place(e), ...delegateKey(e.data.delegate), role: e.data.role }),
  delete_repo_permission: (e) => ({ ...place(e), ...delegateKey(e.data.delegate) }),
  // endpoints/api/robot.py
  create_robot: (e) => ({
    robot: robotShort(e.data.robot.name),
    description: e.data.description,
    unstructured_metadata: {},
  }),
  delete_robot: (e) => ({ robot: robotShort(e.data.robot.name) }),
  regenerate_robot_token: (e) => ({ robot: robotShort(e.data.robot.name) }),
  // auth/oidc_federation (the short name), endpoints/api/robot_application_tokens.py (the full one).
  federated_robot_token_exchange: (e) => ({
    subject: e.data.subject,
    issuer: e.data.issuer,
    robot: robotShort(e.data.robot.name),
  }),
  create_robot_api_token: (e) => ({
    robot: e.data.robot.name,
    api_token_uuid: e.data.token.uuid,
    scope: e.data.scope,
    token_display_name: e.data.token.name,
    expiration: e.data.expiration,
  }),
  revoke_robot_api_token: (e) => ({ robot: e.data.robot.name, api_token_uuid: e.data.token.uuid }),
  // endpoints/api/organization_application_tokens.py and boot.py (no application: first start).
  create_oauth_api_token: (e) => ({
    scope: e.data.scope,
    ...(e.data.application
      ? { application_name: e.data.application.name, client_id: e.data.application.clientId }
      : { auth_method: "system_startup" }),
  }),
  revoke_oauth_api_token: (e) => ({
    oauth_token_uuid: e.data.uuid,
    ...(e.data.application
      ? { application_name: e.data.application.name, client_id: e.data.application.clientId }
      : { auth_method: "system_startup" }),
  }),
  // endpoints/api/team.py
  org_create_team: (e) => ({ team: e.data.team.name }),
  org_set_team_description: (e) => ({ team: e.data.team.name, description: e.data.description }),
  org_set_team_role: (e) => ({ team: e.data.team.name, role: e.data.role }),
  org_delete_team: (e) => ({ team: e.data.team.name }),
  org_add_team_member: (e) => ({ member: e.data.member.name, team: e.data.team.name }),
  org_remove_team_member: (e) => ({ member: e.data.member.name, team: e.data.team.name }),
  org_invite_team_member: (e) => ({ email: e.data.email, team: e.data.team.name }),
  // endpoints/api/organization.py: the upstream on create, nothing on delete.
  create_proxy_cache_config: (e) => ({ upstream_registry: e.data.upstreamRegistry }),
  delete_proxy_cache_config: () => ({}),
  // endpoints/api/user.py, endpoints/v2/v2auth.py, endpoints/decorators.py
  login_success: (e) => ({
    type: LOGIN_TYPE[e.data.surface],
    useragent: e.data.userAgent,
    kind: LOGIN_KIND[e.data.credential],
    ...usernameOf(e),
  }),
  login_failure: (e) => ({
    type: LOGIN_TYPE[e.data.surface],
    useragent: e.data.userAgent,
    kind: LOGIN_KIND[e.data.credential],
    username: e.data.username,
    message: LOGIN_MESSAGE[e.data.reason],
  }),
  logout_success: () => ({ type: "quayauth" }),
  external_login_attach: (e) => ({ service: e.data.service, service_username: e.data.serviceUsername }),
  external_login_detach: (e) => ({ service: e.data.service }),
  user_create: (e) => ({ email: e.data.email, username: e.namespace }),
  org_create: (e) => ({ email: e.data.email, namespace: e.namespace }),
  create_app_specific_token: (e) => ({
    app_specific_token_title: e.data.token.title,
    app_specific_token: e.data.token.uuid,
  }),
  revoke_app_specific_token: (e) => ({
    app_specific_token_title: e.data.token.title,
    app_specific_token: e.data.token.uuid,
  }),
  // endpoints/api/trigger.py. Quay logs the config with its credentials (the webhook URL and its
  // token); Wharf's config holds none. Quay's manual start logs nothing: Wharf says which build it queued.
  setup_repo_trigger: (e) => ({
    ...place(e),
    trigger_id: e.data.trigger.uuid,
    service: e.data.trigger.service,
    pull_robot: e.data.pullRobot,
    config: e.data.config,
  }),
  delete_repo_trigger: (e) => ({ repo: repoOf(e), trigger_id: e.data.trigger.uuid, service: e.data.trigger.service }),
  toggle_repo_trigger: (e) => ({
    repo: repoOf(e),
    trigger_id: e.data.trigger.uuid,
    service: e.data.trigger.service,
    enabled: e.data.enabled,
  }),
  start_build_trigger: (e) => ({
    ...place(e),
    trigger_id: e.data.trigger.uuid,
    service: e.data.trigger.service,
    build_id: e.data.build,
  }),
  // endpoints/api/namespacequota.py
  ...QUOTA_ADMIN_METADATA,
  // Wharf's fair-use overrides (src/fairuse/override-changes.ts), in Quay's snake_case.
  set_namespace_fair_use: (e) => ({
    namespace: e.namespace,
    requests_per_minute: e.data.requestsPerMinute,
    pull_bytes_per_hour: e.data.pullBytesPerHour,
    previous_requests_per_minute: e.data.previous?.requestsPerMinute ?? null,
    previous_pull_bytes_per_hour: e.data.previous?.pullBytesPerHour ?? null,
  }),
  delete_namespace_fair_use: (e) => ({
    namespace: e.namespace,
    requests_per_minute: e.data.requestsPerMinute,
    pull_bytes_per_hour: e.data.pullBytesPerHour,
  }),
  // Wharf's connectors, named as Quay's superuser changes name their object (`service_key`'s `kid`, `name`).
  connector_create: (e) => ({ connector: e.data.connector.name, connector_uuid: e.data.connector.uuid }),
  connector_delete: (e) => ({ connector: e.data.connector.name, connector_uuid: e.data.connector.uuid }),
  // Wharf's /metrics scrape tokens, alike.
  metrics_token_create: (e) => ({ token: e.data.token.name, token_uuid: e.data.token.uuid }),
  metrics_token_delete: (e) => ({ token: e.data.token.name, token_uuid: e.data.token.uuid }),
  // endpoints/building.py, endpoints/api/build.py
  ...BUILD_METADATA,
};

/**
 * Wharf's garbage collection reports housekeeping, and quota crossings are notices, not anyone's
 * action: Quay logs none of them.
 */
const NOT_LOGGED: ReadonlySet<EventKind> = new Set([
  "gc_tag_rows_deleted",
  "gc_manifests_deleted",
  "gc_blob_links_deleted",
  "gc_blob_deleted",
  "quota_warning",
  "quota_error",
  // Quay's build manager and security worker notify of these without logging them.
  "build_started",
  "build_succeeded",
  "build_failed",
  "manifest_scanned",
  "vulnerability_found",
]);

/** Whether an event kind becomes an action-log entry. */
export const isLogged = (kind: EventKind): boolean => !NOT_LOGGED.has(kind);

/** Quay's metadata of the entry `event` becomes. */
export function metadataOf(event: RegistryEvent): Metadata {
  const entry = METADATA[event.kind] as ((e: RegistryEvent) => Metadata) | undefined;
  return entry ? entry(event) : fallbackMetadata(event);
}
