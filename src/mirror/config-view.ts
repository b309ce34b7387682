/**
 * A repository's mirror configuration as stored and as Quay shows it (`ViewMirrorConfig` of
 * endpoints/api/mirror.py): its types, Quay's date format, the row with its robot's name, and the
 * view, the password never in it. Changes are src/mirror/configs.ts and src/mirror/sync-status.ts.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type RepoMirrorConfig, repoMirrorConfigs, users } from "../db/schema";
import { decryptSecret } from "../identity/secrets";

/** Quay's MAX_SYNC_RETRIES: failed attempts before a sync waits for its next interval. */
export const MAX_SYNC_RETRIES = 3;
/** Quay's skopeo timeout bounds (seconds) and default. */
export const SKOPEO_TIMEOUT = { min: 300, max: 43200, default: 300 };

export type SyncStatus = RepoMirrorConfig["syncStatus"];

export interface ExternalRegistryConfig {
  verify_tls?: boolean;
  unsigned_images?: boolean;
  proxy?: { http_proxy?: string | null; https_proxy?: string | null; no_proxy?: string | null };
}

/** The settings the API accepts (Quay's `common_properties`), already checked by the route's schema. */
export interface MirrorSettings {
  is_enabled?: boolean;
  external_reference?: string;
  external_registry_username?: string | null;
  external_registry_password?: string | null;
  sync_start_date?: string;
  sync_interval?: number;
  robot_username?: string;
  root_rule?: { rule_kind: "tag_glob_csv"; rule_value: string[] };
  external_registry_config?: ExternalRegistryConfig;
  skopeo_timeout_interval?: number;
}

export interface MirrorRow {
  config: RepoMirrorConfig;
  robotName: string | null;
}

export type SecretEnv = { WHARF_SECRET_KEY?: string };

/** Quay's `_string_to_dt`: exactly `%Y-%m-%dT%H:%M:%SZ`, UTC. */
export function parseSyncDate(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // A date the calendar lacks (Feb 30) is refused as strptime refuses it.
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  )
    return null;
  return ms;
}

/** Quay's `_dt_to_string`: ISO 8601 with `Z` (Wharf keeps whole seconds). */
export function formatSyncDate(ms: number | null): string | null {
  return ms === null ? null : `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export async function findMirror(db: Db, repositoryId: number): Promise<MirrorRow | undefined> {
  const row = await db
    .select({ config: repoMirrorConfigs, robotName: users.username })
    .from(repoMirrorConfigs)
    .leftJoin(users, eq(users.id, repoMirrorConfigs.robotUserId))
    .where(eq(repoMirrorConfigs.repositoryId, repositoryId))
    .get();
  return row ?? undefined;
}

/** A mirror's source username as its view shows it: Quay's words when it no longer decrypts. */
export async function shownUsername(env: SecretEnv, sealedUsername: string | null): Promise<string | null> {
  if (sealedUsername === null) return null;
  return (await decryptSecret(env, sealedUsername)) ?? "(invalid. please re-enter)";
}

/** Quay's `ViewMirrorConfig` (endpoints/api/mirror.py `get`), the password never in it. */
export async function mirrorView(env: SecretEnv, row: MirrorRow) {
  const { config } = row;
  return {
    is_enabled: config.isEnabled,
    mirror_type: "PULL",
    external_reference: config.externalReference,
    external_registry_username: await shownUsername(env, config.sealedUsername),
    external_registry_config: JSON.parse(config.externalRegistryConfig) as ExternalRegistryConfig,
    sync_interval: config.syncInterval,
    sync_start_date: formatSyncDate(config.syncStartDate),
    sync_expiration_date: formatSyncDate(config.syncExpirationDate),
    sync_retries_remaining: config.syncRetriesRemaining,
    sync_status: config.syncStatus,
    root_rule: { rule_kind: "tag_glob_csv", rule_value: JSON.parse(config.ruleValue) as string[] },
    robot_username: row.robotName,
    skopeo_timeout_interval: config.skopeoTimeout,
  };
}
