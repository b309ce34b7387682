/**
 * Usage-log entries in words, as Quay's UI describes its log kinds ("Push of v1 to repository
 * acme/app", "Change permission for team builders in repository app to write"), from the
 * metadata Quay's `log_action` writes (src/events/logs-metadata.ts gives Wharf's the same keys).
 * A kind without a sentence here reads as its name with the metadata's main names.
 */

type Metadata = Record<string, unknown>;

const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);

/** `namespace/repo` when both are known, else the repository's own name. */
const repo = (m: Metadata) => (m.namespace && m.repo ? `${text(m.namespace)}/${text(m.repo)}` : text(m.repo));
const short = (digest: unknown) => text(digest).slice(0, 19);
const delegate = (m: Metadata) =>
  m.team ? `team ${text(m.team)}` : m.username ? `user ${text(m.username)}` : `token ${text(m.token)}`;
const expiry = (seconds: unknown) =>
  seconds === null || seconds === undefined ? "no expiration" : new Date(Number(seconds) * 1000).toLocaleString();
const policy = (m: Metadata) => {
  const p = (m.policy ?? m) as Metadata;
  const rule = `${text(p.method)}:${text(p.value)}`;
  const pattern = p.tag_pattern ?? p.tagPattern;
  if (!pattern) return rule;
  const matches = p.tag_pattern_matches ?? p.tagPatternMatches;
  return `${rule}, tagPattern:${text(pattern)}, tagPatternMatches:${matches === false ? "false" : "true"}`;
};

const DESCRIPTIONS: Record<string, (m: Metadata) => string> = {
  account_change_password: () => "Change password",
  user_create: (m) =>
    m.superuser
      ? `Superuser ${text(m.superuser)} created user ${text(m.username)}`
      : `User ${text(m.username)} created`,
  user_delete: (m) =>
    m.superuser
      ? `Superuser ${text(m.superuser)} deleted user ${text(m.username)}`
      : `User ${text(m.username)} deleted`,
  user_enable: (m) => `User ${text(m.username)} enabled`,
  user_disable: (m) => `User ${text(m.username)} disabled`,
  user_change_email: (m) => `Changed email from ${text(m.old_email)} to ${text(m.email)}`,
  user_change_tag_expiration: (m) =>
    `Change time machine window to ${Math.round(Number(m.tag_expiration) / 86400)} days`,
  create_robot: (m) => `Create robot account ${text(m.robot)}`,
  delete_robot: (m) => `Delete robot account ${text(m.robot)}`,
  regenerate_robot_token: (m) => `Regenerated token for robot ${text(m.robot)}`,
  create_repo: (m) => `Create repository ${repo(m)}`,
  delete_repo: (m) => `Delete repository ${text(m.repo)}`,
  push_repo: (m) => (m.tag ? `Push of ${text(m.tag)} to repository ${repo(m)}` : `Repository push to ${repo(m)}`),
  pull_repo: (m) => {
    const what = m.tag
      ? `tag ${text(m.tag)} from repository ${repo(m)}`
      : m.manifest_digest
        ? `digest ${short(m.manifest_digest)} from repository ${repo(m)}`
        : `repository ${repo(m)}`;
    return m.username ? `Pull of ${what} by ${text(m.username)}` : `Pull of ${what}`;
  },
  change_repo_visibility: (m) => `Change visibility for repository ${repo(m)} to ${text(m.visibility)}`,
  set_repo_description: (m) => `Change description for repository ${repo(m)} to ${text(m.description)}`,
  change_repo_state: (m) => `Repository state changed to ${text(m.state_changed).toUpperCase()}`,
  add_repo_permission: (m) => `Grant ${text(m.role)} permission for ${delegate(m)} on repository ${repo(m)}`,
  change_repo_permission: (m) => `Change permission for ${delegate(m)} in repository ${repo(m)} to ${text(m.role)}`,
  delete_repo_permission: (m) => `Remove permission for ${delegate(m)} from repository ${repo(m)}`,
  add_repo_notification: (m) =>
    `Add notification of event “${text(m.event)}” (${text(m.method)}) for repository ${repo(m)}`,
  delete_repo_notification: (m) => `Delete notification of event “${text(m.event)}” for repository ${repo(m)}`,
  reset_repo_notification: (m) => `Re-enable notification of event “${text(m.event)}” for repository ${repo(m)}`,
  create_tag: (m) => `Tag ${text(m.tag)} created in repository ${repo(m)} on ${short(m.manifest_digest)}`,
  move_tag: (m) =>
    `Tag ${text(m.tag)} moved from ${short(m.original_manifest_digest)} to ${short(m.manifest_digest)} in repository ${repo(m)}`,
  delete_tag: (m) => `Tag ${text(m.tag)} deleted in repository ${repo(m)}`,
  revert_tag: (m) => `Tag ${text(m.tag)} restored to ${short(m.manifest_digest)}`,
  change_tag_expiration: (m) =>
    `Tag ${text(m.tag)} set to expire ${m.expiration_date ? `on ${expiry(m.expiration_date)}` : "never"} (was ${expiry(m.old_expiration_date)})`,
  permanently_delete_tag: (m) => `Tag ${text(m.tag)} permanently deleted from the time machine`,
  autoprune_tag_delete: (m) => `Tag ${text(m.tag)} pruned in repository ${repo(m)} by ${text(m.performer)}`,
  manifest_label_add: (m) => `Label ${text(m.key)}=${text(m.value)} added to ${short(m.manifest_digest)}`,
  manifest_label_delete: (m) => `Label ${text(m.key)} removed from ${short(m.manifest_digest)}`,
  create_repository_autoprune_policy: (m) => `Created repository auto-prune policy “${policy(m)}” for ${repo(m)}`,
  update_repository_autoprune_policy: (m) => `Updated repository auto-prune policy “${policy(m)}” for ${repo(m)}`,
  delete_repository_autoprune_policy: (m) => `Deleted repository auto-prune policy for ${repo(m)}`,
  create_namespace_autoprune_policy: (m) =>
    `Created namespace auto-prune policy “${policy(m)}” for ${text(m.namespace)}`,
  update_namespace_autoprune_policy: (m) =>
    `Updated namespace auto-prune policy “${policy(m)}” for ${text(m.namespace)}`,
  delete_namespace_autoprune_policy: (m) => `Deleted namespace auto-prune policy for ${text(m.namespace)}`,
  repo_mirror_sync_started: (m) => `Mirror started for ${text(m.message)}`,
  repo_mirror_sync_success: (m) => `Mirror finished successfully for ${text(m.message)} ${text(m.tags)}`.trim(),
  repo_mirror_sync_failed: (m) => `Mirror finished unsuccessfully for ${text(m.message)} ${text(m.tags)}`.trim(),
  repo_mirror_config_changed: (m) =>
    m.changed === "sync_status" && m.to === "SYNC_CANCEL"
      ? "Mirror canceled"
      : m.changed === "sync_status" && m.to === "SYNC_NOW"
        ? "Immediate mirror scheduled"
        : `Mirror ${text(m.changed).replace(/_/g, " ")} changed to ${m.changed === "external_registry_password" ? "(hidden)" : text(m.to)}`,
  org_create_team: (m) => `Create team ${text(m.team)}`,
  org_delete_team: (m) => `Delete team ${text(m.team)}`,
  org_add_team_member: (m) => `Add member ${text(m.member)} to team ${text(m.team)}`,
  org_remove_team_member: (m) => `Remove member ${text(m.member)} from team ${text(m.team)}`,
  org_invite_team_member: (m) => `Invite ${text(m.email ?? m.member)} to team ${text(m.team)}`,
  org_set_team_role: (m) => `Change role of team ${text(m.team)} to ${text(m.role)}`,
  org_set_team_description: (m) => `Change description of team ${text(m.team)}`,
  login_success: (m) => `Login to ${text(m.type)} (${text(m.kind)})`,
  external_login_attach: (m) => `Attach external login ${text(m.service)} (${text(m.service_username)})`,
  external_login_detach: (m) => `Detach external login ${text(m.service)}`,
  login_failure: (m) => `Failed login of ${text(m.username)}: ${text(m.message)}`,
};

/** A sentence for an entry of `kind` with its metadata. */
export function describeKind(kind: string, metadata: Metadata = {}): string {
  const sentence = DESCRIPTIONS[kind];
  if (sentence) {
    try {
      return sentence(metadata);
    } catch {
      // A metadata shape the sentence does not expect: fall back to the plain form below.
    }
  }
  const parts = ["repo", "tag", "username", "team", "robot", "role", "name"]
    .filter((key) => typeof metadata[key] === "string" || typeof metadata[key] === "number")
    .map((key) => `${key} ${metadata[key]}`);
  const words = kind.replace(/_/g, " ");
  return parts.length ? `${words}: ${parts.join(", ")}` : words;
}

/** The kind's name in words, for the per-kind chart. */
export const kindWords = (kind: string) => kind.replace(/_/g, " ");
