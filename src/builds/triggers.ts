/**
 * Build triggers (Quay's RepositoryBuildTrigger, endpoints/api/trigger.py): made inactive for a
 * service, activated with a configuration and an optional pull robot (`setup_repo_trigger`),
 * enabled or disabled (`toggle_repo_trigger`), deleted (`delete_repo_trigger`). Each change and its
 * event commit in one batch, on the condition the change needs, so two concurrent calls never both
 * report one. Every trigger holds an SSH deploy key (custom git: the key its git server grants read
 * with; GitHub: the key added as a deploy key) and a webhook secret (custom git: the `$token`
 * password of its webhook URL; GitHub: the HMAC key of `X-Hub-Signature-256`), both sealed.
 */
import { and, count, eq, ne, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type BuildTrigger, buildTriggers, type Repository, repositories, type User, users } from "../db/schema";
import { DomainError, invalid, notFound } from "../errors/domain";
import type { RepositoryRef } from "../events/envelope";
import { eventStatement, type EventScope } from "../events/outbox";
import { organizationRole } from "../identity/organizations";
import { randomString } from "../identity/passwords";
import { parseRobotName } from "../identity/robots";
import { decryptSecret, encryptSecret } from "../identity/secrets";
import { clock } from "../lib/clock";
import { generateSshKeyPair } from "../lib/ssh-keys";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { repositoryEvent } from "../registry/repository-events";
import type { TriggerConfig, TriggerService } from "./trigger-rules";

type SecretEnv = { WHARF_SECRET_KEY?: string };

const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** 40 characters of 62: about 238 bits. */
const SECRET_LENGTH = 40;

/**
 * At most this many triggers per repository: each holds a key and answers webhooks, and no
 * repository needs more (Quay sets no bound; Wharf's is one that a runaway script meets).
 */
export const MAX_TRIGGERS_PER_REPOSITORY = 100;

/** A trigger with the name of its pull robot. */
export interface TriggerRow {
  trigger: BuildTrigger;
  pullRobot: string | null;
}

const ref = (repository: Repository): RepositoryRef => ({ id: repository.id, name: repository.name });
const eventTrigger = (t: BuildTrigger) => ({ uuid: t.uuid, service: t.service });

/** The trigger's config (`build_source`…); `{}` when a row written by hand does not parse to an object. */
export function storedConfig(trigger: BuildTrigger): TriggerConfig {
  try {
    const parsed = JSON.parse(trigger.config) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as TriggerConfig) : {};
  } catch {
    return {};
  }
}

/** Makes an inactive trigger of `service` on `repository`, with its deploy key and webhook secret. */
export async function createTrigger(
  db: Db,
  env: SecretEnv,
  repository: Repository,
  service: TriggerService,
  connectedUserId: number,
): Promise<BuildTrigger> {
  const [held] = await db
    .select({ n: count() })
    .from(buildTriggers)
    .where(eq(buildTriggers.repositoryId, repository.id));
  if ((held?.n ?? 0) >= MAX_TRIGGERS_PER_REPOSITORY)
    throw invalid(`A repository holds at most ${MAX_TRIGGERS_PER_REPOSITORY} build triggers`);
  const uuid = crypto.randomUUID();
  const keys = await generateSshKeyPair(`wharf-trigger-${uuid}`);
  const secret = randomString(SECRET_ALPHABET, SECRET_LENGTH);
  const [row] = await db
    .insert(buildTriggers)
    .values({
      uuid,
      repositoryId: repository.id,
      service,
      connectedUserId,
      config: "{}",
      publicKey: keys.publicKey,
      sealedPrivateKey: await encryptSecret(env, keys.privateKey),
      sealedSecret: await encryptSecret(env, secret),
      createdAt: clock.now(),
    })
    .returning();
  if (!row) throw new Error(`trigger ${uuid} vanished after its insert`);
  return row;
}

function selectRows(db: Db) {
  return db
    .select({ trigger: buildTriggers, pullRobot: users.username })
    .from(buildTriggers)
    .leftJoin(users, eq(users.id, buildTriggers.pullRobotId));
}

/** The repository's triggers, oldest first. */
export function listTriggers(db: Db, repositoryId: number): Promise<TriggerRow[]> {
  return selectRows(db).where(eq(buildTriggers.repositoryId, repositoryId)).orderBy(buildTriggers.id).all();
}

/** The repository's trigger `uuid`; 404 when the repository holds none by that id (Quay looks it up by uuid alone). */
export async function requireTrigger(db: Db, repositoryId: number, uuid: string): Promise<TriggerRow> {
  const row = await selectRows(db)
    .where(and(eq(buildTriggers.uuid, uuid), eq(buildTriggers.repositoryId, repositoryId)))
    .get();
  if (!row) throw notFound();
  return row;
}

/**
 * The trigger `uuid` a webhook names, with its pull robot's name and its repository; not one of a
 * deleted repository (a tombstone until its purge builds nothing meanwhile).
 */
export function webhookTrigger(db: Db, uuid: string) {
  return db
    .select({ trigger: buildTriggers, pullRobot: users.username, repository: repositories })
    .from(buildTriggers)
    .innerJoin(
      repositories,
      and(eq(repositories.id, buildTriggers.repositoryId), ne(repositories.namespace, TOMBSTONE_NAMESPACE)),
    )
    .leftJoin(users, eq(users.id, buildTriggers.pullRobotId))
    .where(eq(buildTriggers.uuid, uuid))
    .get();
}

/**
 * The deploy key a build of trigger `triggerId` clones with (the OpenSSH private key file), for the
 * build job's `source.ssh_private_key` (docs/connector.md); null when the trigger is gone or its
 * key cannot be unsealed under the current WHARF_SECRET_KEY.
 */
export async function triggerDeployKey(db: Db, env: SecretEnv, triggerId: number): Promise<string | null> {
  const row = await db
    .select({ sealed: buildTriggers.sealedPrivateKey })
    .from(buildTriggers)
    .where(eq(buildTriggers.id, triggerId))
    .get();
  return row?.sealed ? decryptSecret(env, row.sealed) : null;
}

/** The webhook secret in clear (null if it cannot be unsealed under the current key). */
export async function webhookSecret(env: SecretEnv, trigger: BuildTrigger): Promise<string | null> {
  return trigger.sealedSecret ? decryptSecret(env, trigger.sealedSecret) : null;
}

/**
 * The pull robot `name` for a trigger of `repository`, as Quay's activation checks it: a robot
 * (else 404), of the repository's namespace, which `user` administers (the user itself, or an
 * admin of the organization holding a token with org:admin, Quay's AdministerOrganizationPermission);
 * else 403.
 */
export async function triggerPullRobot(
  db: Db,
  user: User,
  orgAdminScope: boolean,
  repository: Repository,
  name: string,
): Promise<{ id: number; name: string }> {
  const parsed = parseRobotName(name);
  const robot = parsed ? await db.select().from(users).where(eq(users.username, name)).get() : undefined;
  if (!parsed || robot?.kind !== "robot") throw notFound();
  const administers =
    parsed.namespace === user.username ||
    (orgAdminScope && (await organizationRole(db, user.id, parsed.namespace)) === "admin");
  if (!administers || parsed.namespace !== repository.namespace)
    throw new DomainError("denied", { message: "Unauthorized" });
  return { id: robot.id, name: robot.username };
}

/** Only while the trigger is as the caller read it: same row, same activity. */
function unchanged(trigger: BuildTrigger, extra?: SQL): SQL {
  const base = sql`exists (select 1 from ${buildTriggers} where ${buildTriggers.id} = ${trigger.id} and ${buildTriggers.isActive} = ${trigger.isActive ? 1 : 0}`;
  return extra ? sql`${base} and ${extra})` : sql`${base})`;
}

/** Quay's `toggle_build_trigger`: a disabled trigger says why (`user_toggled`). */
export async function toggleTrigger(
  db: Db,
  repository: Repository,
  trigger: BuildTrigger,
  enabled: boolean,
  events: EventScope,
): Promise<BuildTrigger> {
  const event = repositoryEvent("toggle_repo_trigger", ref(repository), events.origin, {
    trigger: eventTrigger(trigger),
    enabled,
  });
  const disabledReason = enabled ? null : "user_toggled";
  const [, updated] = await db.batch([
    eventStatement(db, event, { onlyIf: unchanged(trigger) }),
    db
      .update(buildTriggers)
      .set({ enabled, disabledReason })
      .where(and(eq(buildTriggers.id, trigger.id), eq(buildTriggers.isActive, trigger.isActive)))
      .returning({ id: buildTriggers.id }),
  ]);
  // Deleted or deactivated meanwhile: neither the change nor its event was written.
  if (updated.length === 0) throw notFound();
  events.publish([event]);
  return { ...trigger, enabled, disabledReason };
}

/** Deletes the trigger; as Quay, only an active one's deletion is logged. Its builds stay, unlinked. */
export async function deleteTrigger(
  db: Db,
  repository: Repository,
  trigger: BuildTrigger,
  events: EventScope,
): Promise<void> {
  const remove = db
    .delete(buildTriggers)
    .where(and(eq(buildTriggers.id, trigger.id), eq(buildTriggers.isActive, trigger.isActive)))
    .returning({ id: buildTriggers.id });
  if (!trigger.isActive) {
    if ((await remove.all()).length === 0) throw notFound();
    return;
  }
  const event = repositoryEvent("delete_repo_trigger", ref(repository), events.origin, {
    trigger: eventTrigger(trigger),
  });
  const [, removed] = await db.batch([eventStatement(db, event, { onlyIf: unchanged(trigger) }), remove]);
  // Deleted (or deactivated) meanwhile: nothing was removed here, and no event written.
  if (removed.length === 0) throw notFound();
  events.publish([event]);
}

/** Activates an inactive trigger with `config` (already checked) and `pullRobot`; false when it was activated meanwhile. */
export async function activateTrigger(
  db: Db,
  repository: Repository,
  trigger: BuildTrigger,
  config: TriggerConfig,
  pullRobot: { id: number; name: string } | null,
  events: EventScope,
): Promise<boolean> {
  const event = repositoryEvent("setup_repo_trigger", ref(repository), events.origin, {
    trigger: eventTrigger(trigger),
    pullRobot: pullRobot?.name ?? null,
    config,
  });
  const [, updated] = await db.batch([
    eventStatement(db, event, { onlyIf: unchanged(trigger) }),
    db
      .update(buildTriggers)
      .set({
        isActive: true,
        config: JSON.stringify(config),
        ...(pullRobot ? { pullRobotId: pullRobot.id } : {}),
      })
      .where(and(eq(buildTriggers.id, trigger.id), eq(buildTriggers.isActive, false)))
      .returning({ id: buildTriggers.id }),
  ]);
  if (updated.length === 0) return false;
  events.publish([event]);
  return true;
}
