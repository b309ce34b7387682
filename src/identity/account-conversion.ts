/**
 * Turning a user into an organization (Quay `convertUserToOrganization`,
 * `data/model/organization.py` `convert_user_to_organization`): the account keeps its name,
 * repositories and robots, loses its password, and an `owners` team (role admin) holding another
 * user, who proved their password, administers it from then on.
 */
import { sql } from "drizzle-orm";
import { DomainError, modelError } from "../errors/domain";
import { batchSql, type Db } from "../db/client";
import { accessTokens, repositoryPermissions, sessions, teamMembers, teams, users, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { accountRef, conditionalEvent, namespaceEvent, written } from "./account-events";
import { confirmPassword } from "./credentials";
import type { LoginGuard } from "./login-limits";
import { OWNERS_TEAM, organizationsOnlyOwnedBy } from "./organizations";
import { newSession } from "./sessions";

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
  // conversion, or a deletion, meanwhile changes nothing); the account's own row changes last.
  const [row] = await batchSql(db, [
    conditionalEvent(db, event, live).getSQL(),
    sql`insert into ${teams} (organization_id, name, role) select ${user.id}, ${OWNERS_TEAM}, 'admin' where ${live}`,
    sql`insert into ${teamMembers} (team_id, user_id)
      select id, ${adminUser.id} from ${teams} where organization_id = ${user.id} and name = ${OWNERS_TEAM} and ${live}`,
    // Raw SQL, as batchSql takes it (drizzle's own statements cannot join a batch of raw ones).
    sql`delete from ${sessions} where user_id = ${user.id}`,
    sql`delete from ${accessTokens} where user_id = ${user.id}`,
    sql`delete from ${repositoryPermissions} where user_id = ${user.id}`,
    sql`delete from ${teamMembers} where user_id = ${user.id} and ${live}`,
    sql`update ${users} set kind = 'organization', password_hash = null
      where id = ${user.id} and kind = 'user' and deleting_since is null`,
  ]);
  if (!written(row?.results)) throw new DomainError("not_found");
  // The admin proved their password: signed in as Quay's conversion does, after the change.
  await session.insert;
  events.publish([event]);
  return { admin: adminUser, cookie: session.cookie };
}
