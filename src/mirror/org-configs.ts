/**
 * An organization's mirror configuration (Quay's OrgMirrorConfig, endpoints/api/org_mirror.py and
 * data/model/org_mirror.py): reading it as Quay's GET answers it (the password never, only
 * `has_external_registry_password`), creating it (only in an organization without repositories),
 * and changing it (deleting it, sync-now and cancel: src/mirror/org-status.ts). Each change is one
 * D1 batch with its `org_mirror_*` event, conditional where a race could otherwise write half of it.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { immutabilityPolicies, type OrgMirrorConfig, orgMirrorConfigs, repositories, users } from "../db/schema";
import { invalid } from "../errors/domain";
import { newEvent, type RegistryEvent } from "../events/catalogue";
import type { EventOrigin } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { decryptSecret, encryptSecret } from "../identity/secrets";
import { shownUsername } from "./config-view";
import { formatSyncDate, MAX_SYNC_RETRIES, parseSyncDate } from "./configs";
import { type OrgMirrorRegistryConfig, propagatedChange } from "./org-propagate";
import type { SourceRegistryType } from "./org-sources";
import { globProblem, MAX_GLOBS } from "./tag-globs";

type SecretEnv = { WHARF_SECRET_KEY?: string };

export type { OrgMirrorRegistryConfig } from "./org-propagate";

/** The settings the API accepts (Quay's `CreateOrgMirrorConfig` properties), checked by the route's schema. */
export interface OrgMirrorSettings {
  is_enabled?: boolean;
  external_registry_type?: SourceRegistryType;
  external_registry_url?: string;
  external_namespace?: string;
  robot_username?: string;
  visibility?: "public" | "private";
  sync_interval?: number;
  sync_start_date?: string;
  external_registry_username?: string | null;
  external_registry_password?: string | null;
  external_registry_config?: OrgMirrorRegistryConfig;
  repository_filters?: string[];
  skopeo_timeout?: number;
}

export type NewOrgMirror = OrgMirrorSettings &
  Required<
    Pick<
      OrgMirrorSettings,
      | "external_registry_type"
      | "external_registry_url"
      | "external_namespace"
      | "visibility"
      | "sync_interval"
      | "sync_start_date"
    >
  >;

export interface OrgMirrorRow {
  config: OrgMirrorConfig;
  robotName: string | null;
}

export interface Organization {
  id: number;
  name: string;
}

export const SKOPEO_TIMEOUT_DEFAULT = 300;

/** Quay's log `external_reference` of a source: its URL and namespace. */
export const sourceReference = (config: Pick<OrgMirrorConfig, "registryUrl" | "externalNamespace">) =>
  `${config.registryUrl}/${config.externalNamespace}`;

export async function findOrgMirror(db: Db, organizationId: number): Promise<OrgMirrorRow | undefined> {
  const row = await db
    .select({ config: orgMirrorConfigs, robotName: users.username })
    .from(orgMirrorConfigs)
    .leftJoin(users, eq(users.id, orgMirrorConfigs.robotUserId))
    .where(eq(orgMirrorConfigs.organizationId, organizationId))
    .get();
  return row ?? undefined;
}

/** Quay's `getOrgMirrorConfig` answer. */
export async function orgMirrorView(env: SecretEnv, row: OrgMirrorRow) {
  const { config } = row;
  return {
    is_enabled: config.isEnabled,
    external_registry_type: config.registryType,
    external_registry_url: config.registryUrl,
    external_namespace: config.externalNamespace,
    external_registry_username: await shownUsername(env, config.sealedUsername),
    has_external_registry_password: config.sealedPassword !== null,
    external_registry_config: JSON.parse(config.externalRegistryConfig) as OrgMirrorRegistryConfig,
    repository_filters: JSON.parse(config.repositoryFilters) as string[],
    robot_username: row.robotName,
    visibility: config.visibility,
    sync_interval: config.syncInterval,
    sync_start_date: formatSyncDate(config.syncStartDate),
    sync_expiration_date: formatSyncDate(config.syncExpirationDate),
    sync_status: config.syncStatus,
    sync_retries_remaining: config.syncRetriesRemaining,
    skopeo_timeout: config.skopeoTimeout,
    creation_date: formatSyncDate(Math.floor(config.createdAt / 1000) * 1000),
  };
}

/**
 * The source credentials unsealed (null each when none is stored); null when one no longer
 * decrypts (WHARF_SECRET_KEY changed), Quay's DecryptionFailureException.
 */
export async function unsealedCredentials(
  env: SecretEnv,
  config: Pick<OrgMirrorConfig, "sealedUsername" | "sealedPassword">,
): Promise<{ username: string | null; password: string | null } | null> {
  const open = async (sealed: string | null) =>
    sealed === null ? { value: null } : { value: await decryptSecret(env, sealed) };
  const username = await open(config.sealedUsername);
  const password = await open(config.sealedPassword);
  if (
    (config.sealedUsername !== null && username.value === null) ||
    (config.sealedPassword !== null && password.value === null)
  )
    return null;
  return { username: username.value, password: password.value };
}

function checkFilters(filters: string[]): void {
  if (filters.length > MAX_GLOBS) throw invalid(`At most ${MAX_GLOBS} repository filters`);
  for (const glob of filters) {
    const problem = globProblem(glob);
    if (problem) throw invalid(problem.replace("tag pattern", "repository filter"));
  }
}

/** Quay's `_string_to_dt` with its refusal. */
function startDateOf(text: string): number {
  const ms = parseSyncDate(text);
  if (ms === null) throw invalid("Invalid sync_start_date format. Use ISO 8601: YYYY-MM-DDTHH:MM:SSZ");
  return ms;
}

const seal = (env: SecretEnv, value: string | null | undefined) =>
  value ? encryptSecret(env, value) : Promise.resolve(null);

export const orgEvent = <K extends Parameters<typeof newEvent>[0]>(
  kind: K,
  org: Organization,
  origin: EventOrigin,
  data: Parameters<typeof newEvent<K>>[3],
  nowMs: number,
) => newEvent(kind, { namespace: org.name, repository: null }, origin, data, nowMs);

/**
 * Quay's `create_org_mirror_config`: refused (Quay's DataModelException, 400) when the
 * organization holds repositories, has namespace immutability policies or a mirror already;
 * otherwise the config and its `org_mirror_enabled` in one batch, conditional on those rules
 * still holding.
 */
export async function createOrgMirror(
  db: Db,
  env: SecretEnv,
  org: Organization,
  settings: NewOrgMirror,
  robot: { id: number; name: string },
  origin: EventOrigin,
  nowMs: number,
): Promise<RegistryEvent[]> {
  const startDate = startDateOf(settings.sync_start_date);
  checkFilters(settings.repository_filters ?? []);
  const hasRepositories = sql`exists (select 1 from ${repositories} where ${repositories.namespace} = ${org.name})`;
  const hasMirror = sql`exists (select 1 from ${orgMirrorConfigs} where ${orgMirrorConfigs.organizationId} = ${org.id})`;
  const hasPolicies = sql`exists (select 1 from ${immutabilityPolicies} where ${immutabilityPolicies.namespaceId} = ${org.id} and ${immutabilityPolicies.repositoryId} is null)`;
  const refusal = async () => {
    if ((await db.get<{ n: number }>(sql`select ${hasRepositories} as n`))?.n)
      return "Cannot create organization mirror: the organization already contains repositories. Organization mirroring requires an empty organization.";
    // Mirrored tags must follow the source; a namespace policy would freeze them (Quay's rule).
    if ((await db.get<{ n: number }>(sql`select ${hasPolicies} as n`))?.n)
      return "Cannot create organization mirror: the organization has immutability policies configured. Remove all namespace immutability policies first.";
    if ((await db.get<{ n: number }>(sql`select ${hasMirror} as n`))?.n)
      return "Mirror configuration already exists for this organization";
    return null;
  };
  const before = await refusal();
  if (before) throw invalid(before);
  const event = orgEvent(
    "org_mirror_enabled",
    org,
    origin,
    {
      external_registry_type: settings.external_registry_type,
      external_registry_url: settings.external_registry_url,
      external_namespace: settings.external_namespace,
      sync_interval: settings.sync_interval,
      robot_username: robot.name,
    },
    nowMs,
  );
  const allowed = sql`not ${hasRepositories} and not ${hasMirror} and not ${hasPolicies}`;
  const [, inserted] = await db.batch([
    eventStatement(db, event, { onlyIf: allowed }),
    db
      .insert(orgMirrorConfigs)
      .select(
        sql`select null, ${org.id}, ${robot.id}, ${settings.is_enabled ?? true}, ${settings.external_registry_type},
          ${settings.external_registry_url}, ${settings.external_namespace},
          ${await seal(env, settings.external_registry_username)}, ${await seal(env, settings.external_registry_password)},
          ${JSON.stringify(settings.external_registry_config ?? {})}, ${JSON.stringify(settings.repository_filters ?? [])},
          ${settings.visibility}, ${settings.sync_interval}, ${startDate}, null, ${MAX_SYNC_RETRIES}, 'NEVER_RUN',
          ${crypto.randomUUID()}, ${settings.skopeo_timeout ?? SKOPEO_TIMEOUT_DEFAULT}, ${nowMs}
          where ${allowed}`,
      )
      .returning({ id: orgMirrorConfigs.id }),
  ]);
  if (inserted.length > 0) return [event];
  // A repository or a mirror appeared between the check and the batch.
  throw invalid((await refusal()) ?? "Mirror configuration already exists for this organization");
}

/**
 * Quay's `update_org_mirror_config`: the settings given (an empty or null username or password
 * clears it), and `org_mirror_config_changed` naming the body's fields, in one batch. The claim
 * token is left alone, as Quay's `save()` leaves it: a running discovery keeps its claim.
 */
export async function changeOrgMirror(
  db: Db,
  env: SecretEnv,
  org: Organization,
  row: OrgMirrorRow,
  values: OrgMirrorSettings,
  robotId: number | undefined,
  fields: string[],
  origin: EventOrigin,
  nowMs: number,
): Promise<RegistryEvent[]> {
  const set: Partial<OrgMirrorConfig> = {};
  if (values.is_enabled !== undefined) set.isEnabled = values.is_enabled;
  if (values.external_registry_url !== undefined) set.registryUrl = values.external_registry_url;
  if (values.external_namespace !== undefined) set.externalNamespace = values.external_namespace;
  if (robotId !== undefined) set.robotUserId = robotId;
  if (values.visibility !== undefined) set.visibility = values.visibility;
  if (values.sync_interval !== undefined) set.syncInterval = values.sync_interval;
  if (values.sync_start_date !== undefined) set.syncStartDate = startDateOf(values.sync_start_date);
  if (values.external_registry_username !== undefined)
    set.sealedUsername = await seal(env, values.external_registry_username);
  if (values.external_registry_password !== undefined)
    set.sealedPassword = await seal(env, values.external_registry_password);
  if (values.external_registry_config !== undefined)
    set.externalRegistryConfig = JSON.stringify(values.external_registry_config);
  if (values.repository_filters !== undefined) {
    checkFilters(values.repository_filters);
    set.repositoryFilters = JSON.stringify(values.repository_filters);
  }
  if (values.skopeo_timeout !== undefined) set.skopeoTimeout = values.skopeo_timeout;
  const event = orgEvent(
    "org_mirror_config_changed",
    org,
    origin,
    {
      updated_fields: fields,
      old_external_reference: sourceReference(row.config),
      external_reference: sourceReference({
        registryUrl: set.registryUrl ?? row.config.registryUrl,
        externalNamespace: set.externalNamespace ?? row.config.externalNamespace,
      }),
    },
    nowMs,
  );
  const where = eq(orgMirrorConfigs.id, row.config.id);
  const live = sql`exists (select 1 from ${orgMirrorConfigs} where ${where})`;
  const statements = [eventStatement(db, event, { onlyIf: live })] as const;
  if (Object.keys(set).length === 0) {
    await db.batch(statements);
    return [event];
  }
  const propagated = propagatedChange(db, row.config, set);
  await db.batch([
    ...statements,
    db.update(orgMirrorConfigs).set(set).where(where),
    ...(propagated ? [propagated] : []),
  ]);
  return [event];
}
