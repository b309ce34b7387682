/**
 * A repository's mirror configuration (Quay's RepoMirrorConfig, endpoints/api/mirror.py and
 * data/model/repo_mirror.py): creating it (which puts the repository in state MIRROR), and changing
 * it a setting at a time with one `repo_mirror_config_changed` event per setting (the view is
 * src/mirror/config-view.ts, sync-now and cancel src/mirror/sync-status.ts). Every change is one D1 batch
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
import { encryptSecret } from "../identity/secrets";
import { repositoryEvent } from "../registry/repository-events";
import { parseExternalReference } from "./external-reference";
import { MAX_GLOBS, globProblem } from "./tag-globs";
import {
  type ExternalRegistryConfig,
  findMirror,
  formatSyncDate,
  MAX_SYNC_RETRIES,
  type MirrorRow,
  type MirrorSettings,
  parseSyncDate,
  type SecretEnv,
  SKOPEO_TIMEOUT,
} from "./config-view";

// What other modules (organization mirroring) take from here; the view module defines them.
export { findMirror, formatSyncDate, MAX_SYNC_RETRIES, parseSyncDate, type SyncStatus } from "./config-view";

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

export const configChanged = (
  repository: RepositoryRef,
  origin: EventOrigin,
  changed: string,
  to: unknown,
  nowMs: number,
) =>
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
        sql`select null, ${repository.id}, ${robotId}, ${(settings.is_enabled ?? true) ? 1 : 0}, ${settings.external_reference},
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
  dropCredentialsOnRetarget(row, values, set, logged);
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
 * Stored credentials stay with the registry they were given for (a difference from Quay, README):
 * the password is shown to no one, so a repository admin who points the mirror at another host,
 * or turns verify_tls off (plain HTTP), without giving credentials in the same request, must not
 * have the next sync send them there. They are cleared, and the clearing logged.
 */
function dropCredentialsOnRetarget(
  row: MirrorRow,
  values: MirrorSettings,
  set: Partial<RepoMirrorConfig>,
  logged: Array<[string, unknown]>,
): void {
  const stored = row.config.sealedUsername !== null || row.config.sealedPassword !== null;
  if (!stored || values.external_registry_username !== undefined) return;
  const hostOf = (reference: string) => {
    const parsed = parseExternalReference(reference);
    return "problem" in parsed ? null : parsed.host;
  };
  const retargeted =
    set.externalReference !== undefined && hostOf(set.externalReference) !== hostOf(row.config.externalReference);
  const wasPlain = (JSON.parse(row.config.externalRegistryConfig) as ExternalRegistryConfig).verify_tls === false;
  const nowPlain =
    set.externalRegistryConfig !== undefined &&
    (JSON.parse(set.externalRegistryConfig) as ExternalRegistryConfig).verify_tls === false;
  if (!retargeted && !(nowPlain && !wasPlain)) return;
  set.sealedUsername = null;
  set.sealedPassword = null;
  logged.push(["external_registry_username", null]);
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
