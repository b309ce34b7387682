/**
 * How a repository notification tells someone (Quay `notifications/notificationmethod.py`): each
 * method's config, checked when the notification is created with Quay's refusals, and who an
 * in-app (`quay_notification`) notification is for. Sending is src/notifications/delivery.ts.
 *
 * Flowdock and HipChat: both services are shut down. Quay still lists them, and a script that sets
 * up Quay's methods would fail on a 400, so their configs are accepted and checked as Quay checks
 * them; delivering to them is skipped (and logged), never attempted.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { type Repository, teamMembers, teams, type User, users } from "../db/schema";
import { invalid } from "../errors/domain";
import { findOrganization } from "../identity/organizations";
import { findTeam, listTeamMembers } from "../identity/teams";
import { findUser } from "../identity/users";
import { splitName } from "../registry/repository-name";
import { isAuthorizedEmail } from "./authorized-emails";
import { parseTemplate } from "./json-template";

export const NOTIFICATION_METHODS = ["webhook", "slack", "quay_notification", "email", "flowdock", "hipchat"] as const;

export type NotificationMethodName = (typeof NOTIFICATION_METHODS)[number];

export function isNotificationMethod(name: string): name is NotificationMethodName {
  return (NOTIFICATION_METHODS as readonly string[]).includes(name);
}

/** Quay refuses these hosts for webhooks whatever its configuration says. */
const ALWAYS_REFUSED_HOSTS = ["localhost", "127.0.0.1"];

/**
 * Why `url` may not be a webhook's or Slack's target (Quay: "Invalid webhook URL"), or null. This
 * is Quay's check on the name; the outbound guard (src/lib/outbound.ts) still judges the address
 * each delivery reaches.
 */
export function webhookUrlProblem(config: Pick<Config, "WEBHOOK_HOSTNAME_BLACKLIST">, url: unknown): string | null {
  if (typeof url !== "string" || !URL.canParse(url)) return "Invalid webhook URL";
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "Invalid webhook URL";
  const host = parsed.hostname.toLowerCase();
  if ([...ALWAYS_REFUSED_HOSTS, ...config.WEBHOOK_HOSTNAME_BLACKLIST].includes(host)) return "Invalid webhook URL";
  return null;
}

const target = z.object({ kind: z.enum(["user", "team", "org"]), name: z.string().min(1) });

/** Who receives an in-app notification, as Quay's `find_targets`; an error message otherwise. */
export async function findTargets(
  db: Db,
  namespace: string,
  config: Record<string, unknown>,
): Promise<{ users: User[]; organization: string | null } | { error: string }> {
  const parsed = target.safeParse(config.target);
  if (!parsed.success) return { error: "Missing target" };
  const { kind, name } = parsed.data;
  if (kind === "user") {
    const user = await findUser(db, name);
    if (user?.kind !== "user") return { error: `Unknown user ${name}` };
    return { users: [user], organization: null };
  }
  const org = await findOrganization(db, namespace);
  if (kind === "org") {
    if (!org || name !== namespace) return { error: "Organization name must match repository namespace" };
    return { users: await organizationAdmins(db, org), organization: org.username };
  }
  const team = org && (await findTeam(db, org, name));
  if (!team) return { error: `Unknown team ${name}` };
  return { users: await listTeamMembers(db, team), organization: null };
}

/** The members of the organization's admin teams: who sees its in-app notifications (Quay). */
export async function organizationAdmins(db: Db, org: User): Promise<User[]> {
  const rows = await db
    .selectDistinct({ user: users })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(and(eq(teams.organizationId, org.id), eq(teams.role, "admin")))
    .all();
  return rows.map((row) => row.user);
}

/**
 * Where a notification lives: a repository (its namespace then the repository's), or a namespace
 * alone (Quay's namespace notifications, `repo_name` None in its `validate`).
 */
export type NotificationPlace = { repository: Repository } | { namespace: string };

/** Checks `config` for `method` as Quay's `validate` does; throws the API's 400 with Quay's words. */
export async function checkMethodConfig(
  db: Db,
  config: Pick<Config, "WEBHOOK_HOSTNAME_BLACKLIST">,
  method: NotificationMethodName,
  place: NotificationPlace,
  methodConfig: Record<string, unknown>,
): Promise<void> {
  const repository = "repository" in place ? place.repository : null;
  const namespace = repository ? splitName(repository.name)[0] : (place as { namespace: string }).namespace;
  switch (method) {
    case "webhook": {
      if (!methodConfig.url) throw invalid("Missing webhook URL");
      const problem = webhookUrlProblem(config, methodConfig.url);
      if (problem) throw invalid(problem);
      const template = methodConfig.template;
      if (template !== undefined && template !== null && template !== "") {
        if (typeof template !== "string") throw invalid("Could not parse template: it must be a string");
        parseTemplate(template);
      }
      return;
    }
    case "slack": {
      if (!methodConfig.url) throw invalid("Missing Slack Callback URL");
      if (webhookUrlProblem(config, methodConfig.url)) throw invalid("Invalid Slack Callback URL");
      return;
    }
    case "quay_notification": {
      const found = await findTargets(db, namespace, methodConfig);
      if ("error" in found) throw invalid(found.error);
      return;
    }
    case "email":
      // A namespace notification mails the namespace's administrators, not an address of its
      // config (Quay's namespace `EmailMethod`: no authorized address to check).
      if (!repository) return;
      if (!methodConfig.email) throw invalid("Missing e-mail address");
      if (typeof methodConfig.email !== "string" || !(await isAuthorizedEmail(db, repository, methodConfig.email)))
        throw invalid("The specified e-mail address is not authorized to receive notifications for this repository");
      return;
    case "flowdock":
      if (!methodConfig.flow_api_token) throw invalid("Missing Flowdock API Token");
      return;
    case "hipchat":
      if (!methodConfig.notification_token) throw invalid("Missing Hipchat Room Notification Token");
      if (!methodConfig.room_id) throw invalid("Missing Hipchat Room ID");
      return;
  }
}
