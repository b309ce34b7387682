/**
 * A change to an organization mirror reaching the repository mirrors its discovery created. In
 * Quay the organization's worker syncs those repositories with the organization's settings as they
 * are at each sync; here each has a repository mirror of its own, so a change of the source, its
 * credentials, TLS, interval, timeout or enablement is written to them in the same batch as the
 * organization's. (A new robot is not: each repository keeps the robot that created it.)
 */
import { sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { type OrgMirrorConfig, orgMirrorRepositories, type RepoMirrorConfig, repoMirrorConfigs } from "../db/schema";

/** The organization mirror's `external_registry_config` (Quay's: TLS and proxy settings). */
export interface OrgMirrorRegistryConfig {
  verify_tls?: boolean;
  proxy?: { http_proxy?: string | null; https_proxy?: string | null; no_proxy?: string | null };
}

/** The repository mirror's `external_registry_config` for a source: verify_tls false is plain HTTP. */
export function repositoryRegistryConfig(registryUrl: string, config: OrgMirrorRegistryConfig) {
  const https = URL.canParse(registryUrl.trim()) && new URL(registryUrl.trim()).protocol === "https:";
  return { verify_tls: https && config.verify_tls !== false };
}

/** The update of the discovered repositories' mirrors that `set` implies, or null for none. */
export function propagatedChange(db: Db, before: OrgMirrorConfig, set: Partial<OrgMirrorConfig>): Statement | null {
  const after = { ...before, ...set };
  const change: Record<string, unknown> = {};
  if (set.isEnabled !== undefined) change.isEnabled = after.isEnabled;
  if (set.sealedUsername !== undefined) change.sealedUsername = after.sealedUsername;
  if (set.sealedPassword !== undefined) change.sealedPassword = after.sealedPassword;
  if (set.syncInterval !== undefined) change.syncInterval = after.syncInterval;
  if (set.skopeoTimeout !== undefined) change.skopeoTimeout = after.skopeoTimeout;
  if (set.registryUrl !== undefined || set.externalRegistryConfig !== undefined) {
    const registry = JSON.parse(after.externalRegistryConfig) as OrgMirrorRegistryConfig;
    change.externalRegistryConfig = JSON.stringify(repositoryRegistryConfig(after.registryUrl, registry));
  }
  if (
    (set.registryUrl !== undefined || set.externalNamespace !== undefined) &&
    URL.canParse(after.registryUrl.trim())
  ) {
    const prefix = `${new URL(after.registryUrl.trim()).host}/${after.externalNamespace}/`;
    change.externalReference = sql`${prefix} || (select ${orgMirrorRepositories.repositoryName} from ${orgMirrorRepositories}
      where ${orgMirrorRepositories.repositoryId} = ${repoMirrorConfigs.repositoryId} and ${orgMirrorRepositories.orgMirrorId} = ${before.id})`;
  }
  if (Object.keys(change).length === 0) return null;
  return db
    .update(repoMirrorConfigs)
    .set(change as Partial<RepoMirrorConfig>)
    .where(
      sql`${repoMirrorConfigs.repositoryId} in (select ${orgMirrorRepositories.repositoryId} from ${orgMirrorRepositories} where ${orgMirrorRepositories.orgMirrorId} = ${before.id})`,
    );
}
