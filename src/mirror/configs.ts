/**
 * A repository's mirror configuration (Quay's RepoMirrorConfig, endpoints/api/mirror.py and
 * data/model/repo_mirror.py): reading it as Quay's `ViewMirrorConfig`, creating it (which puts the
 * repository in state MIRROR), changing it a setting at a time with one `repo_mirror_config_changed`
 * event per setting, and the sync-now and sync-cancel status changes. Every change is one D1 batch
 * with its events, conditional on the claim token (`syncTransactionId`) it read, rolled with it, so
 * a change racing a sync's claim or release never overwrites it unseen (Quay's
 * `update_with_transaction`).
 *
 * Creating a mirror sets the state in the same batch rather than under the repository's Durable
 * Object lock: a push committing there at that moment was allowed a moment earlier anyway, and the
 * first sync makes the repository what the rule says (tags that do not match are removed).
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { type RepoMirrorConfig, repoMirrorConfigs, repositories, repositoryPermissions, users } from "../db/schema";
import { clock } from "../lib/clock";
import { DomainError, invalid, modelError } from "../errors/domain";
import type { RegistryEvent } from "../events/catalogue";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { decryptSecret, encryptSecret } from "../identity/secrets";
import { repositoryEvent } from "../registry/repository-events";
import { parseExternalReference } from "./external-reference";
import { MAX_GLOBS, globProblem } from "./tag-globs";

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

type SecretEnv = { WHARF_SECRET_KEY?: string };

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

/** Quay's `ViewMirrorConfig` (endpoints/api/mirror.py `get`), the password never in it. */
export async function mirrorView(env: SecretEnv, row: MirrorRow) {
  const { config } = row;
  const username = config.sealedUsername === null ? null : await decryptSecret(env, config.sealedUsername);
  return {
    is_enabled: config.isEnabled,
    mirror_type: "PULL",
    external_reference: config.externalReference,
    // Quay's answer when the stored username no longer decrypts.
    external_registry_username: config.sealedUsername === null ? null : (username ?? "(invalid. please re-enter)"),
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

/** Quay's rule check (`validate_rule`) and Wharf's glob check. */
function checkRule(globs: string[]): void {
  if (globs.length < 1)
    throw invalid("validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule");
  if (globs.length > MAX_GLOBS) throw invalid(`validation failed: at most ${MAX_GLOBS} tag patterns`);
  for (const glob of globs) {
    const problem = globProblem(glob);
    if (problem) throw invalid(`validation failed: ${problem}`);
  }
}

/**
 * Quay's `_setup_robot_for_mirroring`: the robot must exist and belong to the repository's
 * namespace; the caller then gives it write on the repository when it holds less.
 */
export async function mirrorRobot(
  db: Db,
  repository: RepositoryRef,
  name: string,
): Promise<{ id: number; name: string }> {
  const namespace = repository.name.slice(0, repository.name.indexOf("/"));
  const robot = await db
    .select({ id: users.id, name: users.username })
    .from(users)
    .where(and(eq(users.username, name), eq(users.kind, "robot")))
    .get();
  if (!robot) throw modelError(`Could not find robot with username: ${name}`);
  if (name.slice(0, name.indexOf("+")) !== namespace) throw modelError("Invalid robot");
  return robot;
}

function checkReference(reference: string): void {
  if (reference === "")
    throw new DomainError("invalid", { message: "Empty string is an invalid repository location." });
  const problem = parseExternalReference(reference);
  if ("problem" in problem) throw modelError(problem.problem);
}

/**
 * Quay's `_setup_robot_for_mirroring`: the robot gets write on the repository unless it holds
 * write or admin already, in the batch of the change that names it, on that change's condition
 * (Quay's model call logs no permission change either).
 */
function grantRobotWrite(db: Db, repositoryId: number, robotId: number, onlyIf: SQL) {
  return db
    .insert(repositoryPermissions)
    .select(sql`select null, ${repositoryId}, ${robotId}, null, 'write', ${clock.now()} where ${onlyIf}`)
    .onConflictDoUpdate({
      target: [repositoryPermissions.repositoryId, repositoryPermissions.userId],
      set: { role: "write" },
      setWhere: sql`${repositoryPermissions.role} = 'read'`,
    });
}

const syncDateOf = (text: string) => {
  const ms = parseSyncDate(text);
  if (ms === null) throw invalid("Incorrect DateTime format for sync_start_date.");
  return ms;
};

const configChanged = (repository: RepositoryRef, origin: EventOrigin, changed: string, to: unknown, nowMs: number) =>
  repositoryEvent(
    "repo_mirror_config_changed",
    repository,
    origin,
    { changed, to: to as string | number | boolean | string[] | null },
    nowMs,
  );

/**
 * Creates the mirror and puts the repository in state MIRROR, in one batch with its
 * `repo_mirror_config_changed` (`changed: external_reference`, as Quay logs a creation). False when
 * the repository has a mirror already (Quay's 409) or vanished meanwhile.
 */
export async function createMirror(
  db: Db,
  env: SecretEnv,
  repository: RepositoryRef,
  settings: MirrorSettings &
    Required<
      Pick<MirrorSettings, "external_reference" | "sync_interval" | "sync_start_date" | "root_rule" | "robot_username">
    >,
  robotId: number,
  origin: EventOrigin,
  nowMs: number,
): Promise<{ created: boolean; events: RegistryEvent[] }> {
  checkReference(settings.external_reference);
  checkRule(settings.root_rule.rule_value);
  const syncStartDate = syncDateOf(settings.sync_start_date);
  const seal = (value: string | null | undefined) => (value ? encryptSecret(env, value) : Promise.resolve(null));
  const event = configChanged(repository, origin, "external_reference", settings.external_reference, nowMs);
  const live = sql`exists (select 1 from ${repositories} where ${repositories.id} = ${repository.id} and ${repositories.name} = ${repository.name})`;
  const absent = sql`not exists (select 1 from ${repoMirrorConfigs} where ${repoMirrorConfigs.repositoryId} = ${repository.id})`;
  const claim = crypto.randomUUID();
  const createdNow = sql`exists (select 1 from ${repoMirrorConfigs} where ${repoMirrorConfigs.repositoryId} = ${repository.id} and ${repoMirrorConfigs.syncTransactionId} = ${claim})`;
  const [, inserted] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`${live} and ${absent}` }),
    db
      .insert(repoMirrorConfigs)
      .select(
        sql`select null, ${repository.id}, ${robotId}, ${settings.is_enabled ?? true}, ${settings.external_reference},
          ${await seal(settings.external_registry_username)}, ${await seal(settings.external_registry_password)},
          ${JSON.stringify(settings.external_registry_config ?? {})}, ${JSON.stringify(settings.root_rule.rule_value)},
          ${settings.sync_interval}, ${syncStartDate}, null, ${MAX_SYNC_RETRIES}, 'NEVER_RUN', ${claim},
          ${settings.skopeo_timeout_interval ?? SKOPEO_TIMEOUT.default}, ${nowMs}
          where ${live} and ${absent}`,
      )
      .returning({ id: repoMirrorConfigs.id }),
    db
      .update(repositories)
      .set({ state: "MIRROR" })
      .where(and(eq(repositories.id, repository.id), createdNow)),
    grantRobotWrite(db, repository.id, robotId, createdNow),
  ]);
  return inserted.length > 0 ? { created: true, events: [event] } : { created: false, events: [] };
}

/** The changes of a PUT, in Quay's order, each with the value its event logs. */
async function plannedChanges(
  db: Db,
  env: SecretEnv,
  repository: RepositoryRef,
  row: MirrorRow,
  values: MirrorSettings,
) {
  const set: Partial<RepoMirrorConfig> = {};
  const logged: Array<[string, unknown]> = [];
  if (values.is_enabled !== undefined) {
    set.isEnabled = values.is_enabled;
    logged.push(["is_enabled", values.is_enabled]);
  }
  if (values.external_reference !== undefined) {
    checkReference(values.external_reference);
    set.externalReference = values.external_reference;
    logged.push(["external_reference", values.external_reference]);
  }
  let robotId: number | undefined;
  if (values.robot_username !== undefined) {
    robotId = (await mirrorRobot(db, repository, values.robot_username)).id;
    set.robotUserId = robotId;
    logged.push(["robot_username", values.robot_username]);
  }
  if (values.sync_start_date !== undefined) {
    set.syncStartDate = syncDateOf(values.sync_start_date);
    logged.push(["sync_start_date", formatSyncDate(set.syncStartDate)]);
  }
  if (values.sync_interval !== undefined) {
    set.syncInterval = values.sync_interval;
    logged.push(["sync_interval", values.sync_interval]);
  }
  const hasUser = values.external_registry_username !== undefined;
  const hasPassword = values.external_registry_password !== undefined;
  if (hasPassword && !hasUser) throw invalid("Unable to set a new password without also specifying a username.");
  if (hasUser) {
    const username = values.external_registry_username ?? null;
    set.sealedUsername = username ? await encryptSecret(env, username) : null;
    logged.push(["external_registry_username", username]);
    if (hasPassword) {
      const password = values.external_registry_password ?? null;
      if (username === null && password !== null) throw invalid("Unable to delete username while setting a password.");
      set.sealedPassword = password ? await encryptSecret(env, password) : null;
      logged.push(["external_registry_password", password === null ? null : "********"]);
    }
  }
  if (values.external_registry_config !== undefined) {
    const given = values.external_registry_config;
    const merged = JSON.parse(row.config.externalRegistryConfig) as ExternalRegistryConfig;
    for (const key of ["verify_tls", "unsigned_images"] as const) {
      if (given[key] === undefined) continue;
      merged[key] = given[key];
      logged.push([key, given[key]]);
    }
    for (const key of ["http_proxy", "https_proxy", "no_proxy"] as const) {
      if (given.proxy?.[key] === undefined) continue;
      merged.proxy = { ...merged.proxy, [key]: given.proxy[key] };
      logged.push([key, given.proxy[key]]);
    }
    set.externalRegistryConfig = JSON.stringify(merged);
  }
  if (values.root_rule !== undefined) {
    checkRule(values.root_rule.rule_value);
    set.ruleValue = JSON.stringify(values.root_rule.rule_value);
    logged.push(["mirror_rule", values.root_rule.rule_value]);
  }
  if (values.skopeo_timeout_interval !== undefined) {
    set.skopeoTimeout = values.skopeo_timeout_interval;
    logged.push(["skopeo_timeout_interval", values.skopeo_timeout_interval]);
  }
  return { set, logged, robotId };
}

/**
 * Quay's `changeRepoMirrorConfig`: applies the settings given, each logged as its own
 * `repo_mirror_config_changed`, in one batch on the claim token read (retried once when a sync
 * rolled it in between); a robot newly named gets write on the repository in the same batch.
 */
export async function changeMirror(
  db: Db,
  env: SecretEnv,
  repository: RepositoryRef,
  values: MirrorSettings,
  origin: EventOrigin,
  nowMs: number,
): Promise<{ events: RegistryEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const row = await findMirror(db, repository.id);
    if (!row) throw new DomainError("not_found");
    const { set, logged, robotId } = await plannedChanges(db, env, repository, row, values);
    if (logged.length === 0) return { events: [] };
    const events = logged.map(([changed, to]) => configChanged(repository, origin, changed, to, nowMs));
    const held = and(
      eq(repoMirrorConfigs.id, row.config.id),
      eq(repoMirrorConfigs.syncTransactionId, row.config.syncTransactionId),
    );
    const statements: Statement[] = events.map((event) =>
      eventStatement(db, event, {
        onlyIf: sql`exists (select 1 from ${repoMirrorConfigs} where ${held})`,
      }),
    );
    // The events first: they are written exactly when the update that follows them applies.
    const next = crypto.randomUUID();
    const update = db
      .update(repoMirrorConfigs)
      .set({ ...set, syncTransactionId: next })
      .where(held)
      .returning({ id: repoMirrorConfigs.id });
    const applied = sql`exists (select 1 from ${repoMirrorConfigs} where ${repoMirrorConfigs.id} = ${row.config.id} and ${repoMirrorConfigs.syncTransactionId} = ${next})`;
    const grant = robotId === undefined ? [] : [grantRobotWrite(db, repository.id, robotId, applied)];
    const results = await db.batch([statements[0]!, ...statements.slice(1), update, ...grant]);
    const updated = results[statements.length] as Array<{ id: number }>;
    if (updated.length > 0) return { events };
    if (attempt >= 2) throw new DomainError("conflict", { message: "The mirror changed meanwhile; try again." });
  }
}

/**
 * Quay's `update_sync_status_to_sync_now` (refused while SYNCING) and `update_sync_status_to_cancel`
 * (only while SYNCING or SYNC_NOW): false when the status does not allow it, Quay's 404.
 */
export async function changeSyncStatus(
  db: Db,
  repository: RepositoryRef,
  to: "SYNC_NOW" | "CANCEL",
  origin: EventOrigin,
  nowMs: number,
): Promise<{ changed: boolean; events: RegistryEvent[] }> {
  const row = await findMirror(db, repository.id);
  if (!row) return { changed: false, events: [] };
  const { config } = row;
  const allowed =
    to === "SYNC_NOW"
      ? config.syncStatus !== "SYNCING"
      : config.syncStatus === "SYNCING" || config.syncStatus === "SYNC_NOW";
  if (!allowed) return { changed: false, events: [] };
  // Quay logs a cancel as `to: "SYNC_CANCEL"`.
  const event = configChanged(repository, origin, "sync_status", to === "CANCEL" ? "SYNC_CANCEL" : to, nowMs);
  // Sync-now keeps the claim token rule; a cancel takes the row whoever holds it (Quay force-claims).
  const where =
    to === "SYNC_NOW"
      ? and(eq(repoMirrorConfigs.id, config.id), eq(repoMirrorConfigs.syncTransactionId, config.syncTransactionId))
      : and(eq(repoMirrorConfigs.id, config.id), sql`${repoMirrorConfigs.syncStatus} in ('SYNCING', 'SYNC_NOW')`);
  const set =
    to === "SYNC_NOW"
      ? { syncStatus: to, syncExpirationDate: null, syncRetriesRemaining: Math.max(config.syncRetriesRemaining, 1) }
      : { syncStatus: to, syncExpirationDate: null, syncRetriesRemaining: 0 };
  const [, updated] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${repoMirrorConfigs} where ${where})` }),
    db
      .update(repoMirrorConfigs)
      .set({ ...set, syncTransactionId: crypto.randomUUID() })
      .where(where)
      .returning({ id: repoMirrorConfigs.id }),
  ]);
  return updated.length > 0 ? { changed: true, events: [event] } : { changed: false, events: [] };
}
