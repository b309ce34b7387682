/**
 * Assigned OAuth authorizations (Quay FEATURE_ASSIGN_OAUTH_TOKEN, `data/model/oauth.py`
 * `assign_token_to_user`, `endpoints/api/user.py` `UserAssignedAuthorizations`): an admin of an
 * application's organization asks a user to authorize it, with the scopes and redirect URI the
 * application needs. The user lists the requests, approves one at `POST /oauth/authorizeapp`
 * (`assignment_uuid`: the token is minted and the request ends in one batch), or deletes it.
 */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { DomainError, notFound } from "../errors/domain";
import type { Db, Statement } from "../db/client";
import { oauthApplications, oauthAssignedTokens, users, type OAuthApplication, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { accountRef, commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { authorizedApplicationView, scopeInformation } from "./oauth-authorizations";
import { organizationRole } from "./organizations";
import type { Scope } from "./scopes";
import { findUser } from "./users";

const organizations = alias(users, "organizations");

export interface Assignment {
  assignment: typeof oauthAssignedTokens.$inferSelect;
  application: OAuthApplication;
  organization: User;
}

const appRef = (app: OAuthApplication) => ({ clientId: app.clientId, name: app.name });

/**
 * Asks user `assigneeName` to authorize `app` with `scopes`, redirecting to `redirectUri` (checked
 * by the caller as any redirect URI of the application). Only an admin of the application's
 * organization may; the assignee must be a live person's account. Quay also notifies the user;
 * Wharf has no notifications yet: the request shows in their list.
 */
export async function assignAuthorization(
  db: Db,
  admin: User,
  app: OAuthApplication,
  assigneeName: string,
  grant: { redirectUri: string; scopes: readonly Scope[] },
  events: EventScope,
): Promise<string> {
  const org = await db.select().from(users).where(eq(users.id, app.organizationId)).get();
  if (!org || (await organizationRole(db, admin.id, org.username)) !== "admin")
    throw new DomainError("denied", {
      message: "Only an administrator of the application's organization may assign it",
    });
  const assignee = await findUser(db, assigneeName);
  if (assignee?.kind !== "user" || !assignee.enabled || assignee.deletingSince !== null) throw notFound();
  const uuid = crypto.randomUUID();
  const scope = grant.scopes.join(" ");
  const insert = db.insert(oauthAssignedTokens).values({
    uuid,
    applicationId: app.id,
    assignedUserId: assignee.id,
    redirectUri: grant.redirectUri,
    scopes: scope,
    responseType: "token",
  });
  const event = namespaceEvent("oauth_token_assigned", org.username, events.origin, {
    application: appRef(app),
    assignee: accountRef(assignee),
    uuid,
    scope,
  });
  await commitWithEvents(db, events, [insert], [event]);
  return uuid;
}

function assignmentsOf(db: Db, user: User, where?: ReturnType<typeof eq>) {
  return db
    .select({ assignment: oauthAssignedTokens, application: oauthApplications, organization: organizations })
    .from(oauthAssignedTokens)
    .innerJoin(oauthApplications, eq(oauthApplications.id, oauthAssignedTokens.applicationId))
    .innerJoin(organizations, eq(organizations.id, oauthApplications.organizationId))
    .where(and(eq(oauthAssignedTokens.assignedUserId, user.id), isNull(organizations.deletingSince), where))
    .orderBy(asc(oauthAssignedTokens.id));
}

export async function listAssignments(db: Db, user: User): Promise<Assignment[]> {
  return assignmentsOf(db, user).all();
}

/** The request `uuid` made to `user` (Quay's `get_assigned_authorization_for_user`); another's is not found. */
export async function findAssignment(db: Db, user: User, uuid: string): Promise<Assignment> {
  const found = await assignmentsOf(db, user, eq(oauthAssignedTokens.uuid, uuid)).get();
  if (!found) throw notFound();
  return found;
}

const exists = (id: number) => sql`exists (select 1 from ${oauthAssignedTokens} where id = ${id})`;

/** Deletes the request unanswered, with `oauth_token_revoked` in the user's namespace (none if gone meanwhile). */
export async function deleteAssignment(db: Db, user: User, found: Assignment, events: EventScope): Promise<void> {
  const event = namespaceEvent("oauth_token_revoked", user.username, events.origin, {
    application: appRef(found.application),
    uuid: found.assignment.uuid,
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, exists(found.assignment.id)),
    db.delete(oauthAssignedTokens).where(eq(oauthAssignedTokens.id, found.assignment.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/** The statement ending an approved request, for the batch that mints its token (src/routes/oauth.ts). */
export function redeemAssignment(db: Db, found: Assignment): Statement {
  return db.delete(oauthAssignedTokens).where(eq(oauthAssignedTokens.id, found.assignment.id));
}

/** Quay's `assigned_authorization_view`. */
export async function assignmentView({ assignment, application, organization }: Assignment) {
  return {
    application: await authorizedApplicationView(application, organization, { clientId: true }),
    uuid: assignment.uuid,
    redirectUri: assignment.redirectUri,
    scopes: scopeInformation(assignment.scopes),
    responseType: assignment.responseType,
  };
}
