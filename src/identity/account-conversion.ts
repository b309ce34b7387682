/**
 * Turning a user into an organization (Quay `convertUserToOrganization`,
 * `data/model/organization.py` `convert_user_to_organization`): the account keeps its name,
 * repositories and robots, loses its password, and an `owners` team (role admin) holding another
 * user, who proved their password, administers it from then on.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { DomainError, modelError } from "../errors/domain";
import type { Db, Statement } from "../db/client";
import { accessTokens, repositoryPermissions, sessions, teamMembers, teams, users, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { accountRef, conditionalEvent, namespaceEvent, written } from "./account-events";
import { confirmPassword } from "./credentials";
import type { LoginGuard } from "./login-limits";
import { OWNERS_TEAM, organizationsOnlyOwnedBy } from "./organizations";
import { newSession } from "./sessions";
import { clock } from "../lib/clock";

/** Quay's refusal of the admin user: 400 with `reason: "invaliduser"`. */
const invalidAdmin = (message: string) => new DomainError("invalid", { message, fields: { reason: "invaliduser" } });

/**
 * Converts `user` into an organization administered by `admin.username`, whose password must be
 * `admin.password` (checked within the login limits). In one batch, with `account_convert`: the
 * account becomes an organization without a password; its sessions and tokens end (an organization
 * signs nothing in); its own repository permissions and team memberships go (Quay deletes the
 * former; an organization cannot be a team member); the `owners` team is made with the admin in
 * it. Then, as Quay signs the admin in (`conduct_signin`), a session for the admin, whose cookie is
 * returned. Refused, beyond Quay, while the user is the only admin of an organization: it would be
 * left with no one to administer it. A user converted or deleted meanwhile is not found.
 */
export async function convertToOrganization(
  db: Db,
  user: User,
  admin: { username: string; password: string },
  guard: LoginGuard,
  events: EventScope,
): Promise<{ admin: User; cookie: string }> {
  const adminUser = await confirmPassword(db, admin.username, admin.password, guard);
  if (!adminUser) throw invalidAdmin("The admin user credentials are not valid");
  if (adminUser.id === user.id) throw invalidAdmin("The admin user is not valid");
  const orphaned = await organizationsOnlyOwnedBy(db, user.id);
  if (orphaned.length > 0)
    throw modelError(`Cannot convert ${user.username}: the only admin of organizations: ${orphaned.join(", ")}`);

  const live = sql`exists (select 1 from ${users} where id = ${user.id} and kind = 'user' and deleting_since is null)`;
  const event = namespaceEvent("account_convert", user.username, events.origin, { adminUser: accountRef(adminUser) });
  const session = await newSession(db, adminUser);
  // One transaction, every write on the condition that the account is still a live user (a second
  // conversion, or a deletion, meanwhile changes nothing).
  const [row] = await db.batch([
    conditionalEvent(db, event, live),
    ...organizationConversion(db, user.id, adminUser.id),
  ]);
  if (!written(row)) throw new DomainError("not_found");
  // The admin proved their password: signed in as Quay's conversion does, after the change.
  await session.insert;
  events.publish([event]);
  return { admin: adminUser, cookie: session.cookie };
}

/**
 * The writes that make live user `userId` an organization owned by `ownerId` (Quay's
 * `convert_user_to_organization`), for both ways in: the user's own conversion above and a
 * superuser's `takeOwnership` (./namespace-ownership.ts). The account keeps its name,
 * repositories and robots and loses its password. Wharf also ends what would let the former person
 * act: sessions, tokens, own repository permissions (Quay drops these too) and team memberships
 * (an organization cannot be a team member). An `owners` team (role admin) holds `ownerId`. Every
 * write that could outlive a refused conversion is conditional on the account still being a live
 * user; the row's own change comes last. The caller adds its event and runs them as one batch.
 */
export function organizationConversion(db: Db, userId: number, ownerId: number): Statement[] {
  const person = and(eq(users.id, userId), eq(users.kind, "user"), isNull(users.deletingSince));
  const live = sql`exists (select 1 from ${users} where ${person})`;
  return [
    db.delete(sessions).where(eq(sessions.userId, userId)),
    db.delete(accessTokens).where(eq(accessTokens.userId, userId)),
    db.delete(repositoryPermissions).where(eq(repositoryPermissions.userId, userId)),
    db.delete(teamMembers).where(and(eq(teamMembers.userId, userId), live)),
    db
      .insert(teams)
      .select(
        db
          // Every column of `teams`, in order (drizzle's insert-select wants them all).
          .select({
            id: sql<number>`null`.as("id"),
            organizationId: users.id,
            name: sql<string>`${OWNERS_TEAM}`.as("name"),
            role: sql<"admin">`'admin'`.as("role"),
            description: sql<string>`''`.as("description"),
            createdAt: sql<number>`${clock.now()}`.as("created_at"),
          })
          .from(users)
          .where(person),
      )
      .onConflictDoNothing(),
    db
      .insert(teamMembers)
      .select(
        db
          .select({
            teamId: teams.id,
            userId: sql<number>`${ownerId}`.as("user_id"),
            createdAt: sql<number>`${clock.now()}`.as("created_at"),
          })
          .from(teams)
          .where(and(eq(teams.organizationId, userId), eq(teams.name, OWNERS_TEAM), live)),
      )
      .onConflictDoNothing(),
    db.update(users).set({ kind: "organization", passwordHash: null }).where(person),
  ];
}
