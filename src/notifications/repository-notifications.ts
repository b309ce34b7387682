/**
 * Quay's repository notifications (`endpoints/api/repositorynotification.py`, `data/model/
 * notification.py`): created, listed, read, deleted and reset by the repository's admins, each
 * change committed with its event (add_repo_notification, delete_repo_notification,
 * reset_repo_notification). The method's config is sealed at rest (it can hold a Slack URL or a
 * webhook token) and opened for the admins who read it back, as Quay shows it.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { type Repository, type RepositoryNotification, repositoryNotifications } from "../db/schema";
import { invalid, notFound } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import { repositoryEvent } from "../registry/repository-events";
import { checkEventConfig, isNotificationEvent, type NotificationEventName } from "./events";
import { checkMethodConfig, isNotificationMethod } from "./methods";
import {
  insertNotificationWhere,
  NOTIFICATION_MAX_FAILURES,
  type NotificationInput,
  deleteOrResetNotification,
  newNotificationFields,
  notificationSummary,
  type OpenedNotification,
  openStoredNotification,
} from "./stored-notifications";

/** Notifications one repository may have: enough for any real use, and a bound on each push's fan-out. */
export const MAX_NOTIFICATIONS_PER_REPOSITORY = 100;

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** A repository notification with its config opened. */
export type OpenNotification = OpenedNotification<RepositoryNotification>;

const ref = (repository: Repository) => ({ id: repository.id, name: repository.name });

/** The row's configs as objects. */
export const openNotification = (env: SecretEnv, row: RepositoryNotification): Promise<OpenNotification> =>
  openStoredNotification(env, row);

/**
 * Creates a notification after Quay's checks: a known event and method (else 400 "Unable to find
 * event/method"), the method's config (a webhook's URL…), and the event's config. `origin` is the
 * registry's public origin, which payloads name the repository by.
 */
export async function createNotification(
  db: Db,
  env: SecretEnv,
  config: Pick<Config, "WEBHOOK_HOSTNAME_BLACKLIST">,
  repository: Repository,
  input: NotificationInput,
  origin: string,
  events: EventScope,
): Promise<OpenNotification> {
  if (!isNotificationMethod(input.method)) throw invalid(`Unable to find method: ${input.method}`);
  if (!isNotificationEvent(input.event)) throw invalid(`Unable to find event: ${input.event}`);
  await checkMethodConfig(db, config, input.method, { repository }, input.config);
  checkEventConfig(input.event, input.eventConfig);
  const row = await newNotificationFields(env, input, origin);
  const event = repositoryEvent("add_repo_notification", ref(repository), events.origin, notificationSummary(row));
  const room = sql`(select count(*) from ${repositoryNotifications} where repository_id = ${repository.id}) < ${MAX_NOTIFICATIONS_PER_REPOSITORY}`;
  const [eventRow] = await db.batch([
    conditionalEvent(db, event, room),
    insertNotificationWhere(db, repositoryNotifications, repository.id, row, event.at, room),
  ]);
  if (!written(eventRow))
    throw invalid(`A repository may have at most ${MAX_NOTIFICATIONS_PER_REPOSITORY} notifications`);
  events.publish([event]);
  return (await findNotification(db, env, repository, row.uuid))!;
}

export async function listNotifications(db: Db, env: SecretEnv, repository: Repository): Promise<OpenNotification[]> {
  const rows = await db
    .select()
    .from(repositoryNotifications)
    .where(eq(repositoryNotifications.repositoryId, repository.id))
    .orderBy(asc(repositoryNotifications.createdAt), asc(repositoryNotifications.uuid))
    .all();
  return Promise.all(rows.map((row) => openNotification(env, row)));
}

/** The repository's notification `uuid`, or undefined (a notification of another repository too). */
export async function findNotification(
  db: Db,
  env: SecretEnv,
  repository: Repository,
  uuid: string,
): Promise<OpenNotification | undefined> {
  const row = await db
    .select()
    .from(repositoryNotifications)
    .where(and(eq(repositoryNotifications.uuid, uuid), eq(repositoryNotifications.repositoryId, repository.id)))
    .get();
  return row && openNotification(env, row);
}

/** Quay answers a missing notification on delete, reset and test with a 400 that names it. */
export function missingNotification(repository: Repository, uuid: string) {
  const slash = repository.name.indexOf("/");
  return invalid(
    `No repository notification found for: ${repository.name.slice(0, slash)}, ${repository.name.slice(slash + 1)}, ${uuid}`,
  );
}

/** The repository's notification `uuid`, else Quay's 404 (its GET). */
export async function requireNotification(db: Db, env: SecretEnv, repository: Repository, uuid: string) {
  const found = await findNotification(db, env, repository, uuid);
  if (!found) throw notFound();
  return found;
}

const matching = (repository: Repository, uuid: string) =>
  and(eq(repositoryNotifications.uuid, uuid), eq(repositoryNotifications.repositoryId, repository.id));

function changeNotification(
  db: Db,
  repository: Repository,
  uuid: string,
  kind: "delete_repo_notification" | "reset_repo_notification",
  events: EventScope,
): Promise<void> {
  return deleteOrResetNotification(
    db,
    repositoryNotifications,
    matching(repository, uuid)!,
    kind === "reset_repo_notification",
    (row) => repositoryEvent(kind, ref(repository), events.origin, notificationSummary(row)),
    () => missingNotification(repository, uuid),
    events,
  );
}

/** Deletes the notification (Quay's 400 when there is none). */
export function deleteNotification(db: Db, repository: Repository, uuid: string, events: EventScope) {
  return changeNotification(db, repository, uuid, "delete_repo_notification", events);
}

/** Sets its failures back to 0, enabling it again (Quay's 400 when there is none). */
export function resetNotification(db: Db, repository: Repository, uuid: string, events: EventScope) {
  return changeNotification(db, repository, uuid, "reset_repo_notification", events);
}

/** The enabled notifications of the repository for `event`: those that failed fewer than 3 times. */
export async function enabledNotifications(
  db: Db,
  repositoryId: number,
  event: NotificationEventName,
): Promise<RepositoryNotification[]> {
  return db
    .select()
    .from(repositoryNotifications)
    .where(
      and(
        eq(repositoryNotifications.repositoryId, repositoryId),
        eq(repositoryNotifications.event, event),
        sql`${repositoryNotifications.numberOfFailures} < ${NOTIFICATION_MAX_FAILURES}`,
      ),
    )
    .limit(MAX_NOTIFICATIONS_PER_REPOSITORY)
    .all();
}
