/**
 * Quay's default permissions ("prototypes", `endpoints/api/prototype.py`): when a repository is
 * created in an organization, by anyone or by one `activating_user`, a delegate (user, robot or
 * team) gets a role on it. The API manages them; repository creation (src/registry/repositories.ts)
 * applies them through {@link prototypeGrants}.
 */
import { and, asc, eq, isNull, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { invalid } from "../errors/domain";
import type { Db } from "../db/client";
import {
  permissionPrototypes,
  teamMembers,
  teams,
  users,
  type PermissionPrototype,
  type RepositoryRole,
  type Team,
  type User,
} from "../db/schema";
import type { Delegate } from "../events/identity-catalogue";
import type { EventScope } from "../events/outbox";
import { accountRef, commitWithEvents, conditionalEvent, delegateRef, namespaceEvent, written } from "./account-events";
import { strongestRole } from "./permissions";
import { parseRobotName } from "./robots";
import { avatar, findUser } from "./users";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A prototype with the accounts and team it names. */
export interface Prototype {
  prototype: PermissionPrototype;
  activatingUser: User | null;
  delegateUser: User | null;
  delegateTeam: Team | null;
}

/** What a creation request names, resolved: the delegate and the optional activating user. */
export interface PrototypeInput {
  role: RepositoryRole;
  delegate: { kind: "user"; user: User } | { kind: "team"; team: Team };
  activatingUser: User | null;
}

/**
 * Resolves the names of a creation request with Quay's messages. Wharf refuses, where Quay does
 * not check, what could never be granted: an organization, or another namespace's robot (Quay
 * refuses such a robot when a permission is set, "Cannot add robot … under namespace …").
 */
export async function resolvePrototypeInput(
  db: Db,
  org: User,
  request: { role: RepositoryRole; delegate: { name: string; kind: "user" | "team" }; activatingUser: string | null },
): Promise<PrototypeInput> {
  let activatingUser: User | null = null;
  if (request.activatingUser !== null) {
    const found = await findUser(db, request.activatingUser);
    if (!found || found.kind === "organization") throw invalid("Unknown activating user");
    activatingUser = found;
  }
  if (request.delegate.kind === "team") {
    const team = await db
      .select()
      .from(teams)
      .where(and(eq(teams.organizationId, org.id), eq(teams.name, request.delegate.name)))
      .get();
    if (!team) throw invalid("Missing delegate user or team");
    return { role: request.role, delegate: { kind: "team", team }, activatingUser };
  }
  const user = await findUser(db, request.delegate.name);
  if (!user || user.kind === "organization") throw invalid("Missing delegate user or team");
  if (user.kind === "robot" && parseRobotName(user.username)?.namespace !== org.username) {
    throw invalid(`Cannot add robot ${user.username} under namespace ${org.username}`);
  }
  return { role: request.role, delegate: { kind: "user", user }, activatingUser };
}

export async function createPrototype(
  db: Db,
  org: User,
  input: PrototypeInput,
  events: EventScope,
): Promise<Prototype> {
  const uuid = crypto.randomUUID();
  const insert = db
    .insert(permissionPrototypes)
    .values({
      uuid,
      organizationId: org.id,
      activatingUserId: input.activatingUser?.id ?? null,
      delegateUserId: input.delegate.kind === "user" ? input.delegate.user.id : null,
      delegateTeamId: input.delegate.kind === "team" ? input.delegate.team.id : null,
      role: input.role,
    })
    .returning();
  const event = namespaceEvent("create_prototype_permission", org.username, events.origin, {
    prototype: uuid,
    role: input.role,
    delegate: delegateRef(input.delegate),
    activatingUser: input.activatingUser ? accountRef(input.activatingUser) : null,
  });
  const [rows] = (await commitWithEvents(db, events, [insert], [event])) as PermissionPrototype[][];
  const prototype = rows![0]!;
  return {
    prototype,
    activatingUser: input.activatingUser,
    delegateUser: input.delegate.kind === "user" ? input.delegate.user : null,
    delegateTeam: input.delegate.kind === "team" ? input.delegate.team : null,
  };
}

const activating = alias(users, "activating");
const delegateUsers = alias(users, "delegate_user");

/** The organization's prototypes (all, or the one with `uuid`), oldest first. */
export async function listPrototypes(db: Db, org: User, uuid?: string): Promise<Prototype[]> {
  if (uuid !== undefined && !UUID.test(uuid)) return [];
  const rows = await db
    .select({
      prototype: permissionPrototypes,
      activatingUser: activating,
      delegateUser: delegateUsers,
      delegateTeam: teams,
    })
    .from(permissionPrototypes)
    .leftJoin(activating, eq(activating.id, permissionPrototypes.activatingUserId))
    .leftJoin(delegateUsers, eq(delegateUsers.id, permissionPrototypes.delegateUserId))
    .leftJoin(teams, eq(teams.id, permissionPrototypes.delegateTeamId))
    .where(
      and(
        eq(permissionPrototypes.organizationId, org.id),
        uuid === undefined ? undefined : eq(permissionPrototypes.uuid, uuid),
      ),
    )
    .orderBy(asc(permissionPrototypes.id))
    .all();
  return rows;
}

export async function findPrototype(db: Db, org: User, uuid: string): Promise<Prototype | undefined> {
  return (await listPrototypes(db, org, uuid))[0];
}

/** Who a found prototype grants to, as events name it. */
function delegateOf(found: Prototype): Delegate {
  return found.delegateUser ? accountRef(found.delegateUser) : delegateRef({ kind: "team", team: found.delegateTeam! });
}

/**
 * Quay's PUT changes the role only; its `modify_prototype_permission` event is written when the
 * role changes (not when it stays, nor when the prototype was deleted meanwhile).
 */
export async function setPrototypeRole(
  db: Db,
  org: User,
  found: Prototype,
  role: RepositoryRole,
  events: EventScope,
): Promise<Prototype> {
  const event = namespaceEvent("modify_prototype_permission", org.username, events.origin, {
    prototype: found.prototype.uuid,
    role,
    delegate: delegateOf(found),
  });
  const [row] = await db.batch([
    conditionalEvent(
      db,
      event,
      sql`exists (select 1 from ${permissionPrototypes} where id = ${found.prototype.id} and role <> ${role})`,
    ),
    db.update(permissionPrototypes).set({ role }).where(eq(permissionPrototypes.id, found.prototype.id)),
  ]);
  if (written(row)) events.publish([event]);
  return { ...found, prototype: { ...found.prototype, role } };
}

export async function deletePrototype(db: Db, org: User, found: Prototype, events: EventScope): Promise<void> {
  const event = namespaceEvent("delete_prototype_permission", org.username, events.origin, {
    prototype: found.prototype.uuid,
    role: found.prototype.role,
    delegate: delegateOf(found),
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${permissionPrototypes} where id = ${found.prototype.id})`),
    db.delete(permissionPrototypes).where(eq(permissionPrototypes.id, found.prototype.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/** Ids of the accounts in any team of the organization (Quay's `get_organization_member_set`). */
async function memberIds(db: Db, org: User): Promise<Set<number>> {
  const rows = await db
    .selectDistinct({ id: teamMembers.userId })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teams.organizationId, org.id))
    .all();
  return new Set(rows.map((r) => r.id));
}

/**
 * Quay's prototype JSON. A user is `is_org_member` when in one of the organization's teams, and a
 * robot always (Quay: `user.robot or user.username in org_members`); a team delegate is only
 * `{name, kind, avatar}`, as in Quay.
 */
export async function prototypeViews(db: Db, org: User, prototypes: Prototype[]) {
  const members = prototypes.length > 0 ? await memberIds(db, org) : new Set<number>();
  const userView = async (user: User) => {
    const isRobot = user.kind === "robot";
    return {
      name: user.username,
      is_robot: isRobot,
      kind: "user",
      is_org_member: isRobot || members.has(user.id),
      avatar: await avatar(user.username, user.email, isRobot ? "robot" : "user"),
    };
  };
  return Promise.all(
    prototypes.map(async (p) => ({
      activating_user: p.activatingUser ? await userView(p.activatingUser) : null,
      delegate: p.delegateUser
        ? await userView(p.delegateUser)
        : { name: p.delegateTeam!.name, kind: "team", avatar: await avatar(p.delegateTeam!.name, null, "team") },
      role: p.prototype.role,
      id: p.prototype.uuid,
    })),
  );
}

export interface PrototypeGrants {
  users: Array<{ userId: number; role: RepositoryRole }>;
  teams: Array<{ teamId: number; role: RepositoryRole }>;
}

/**
 * What the organization's prototypes grant on a repository `creatorId` creates. Quay's precedence
 * (`data/model/permission.py`, `__apply_permission_list`): for one delegate, a prototype naming the
 * creator as activating user pre-empts the "anyone" ones; where Quay leaves the choice to row order
 * (several of the same kind), the strongest role wins. The creator is never a delegate here: they
 * hold admin anyway (Quay skips them too). Robots of other namespaces are skipped, as a grant
 * would refuse them.
 */
export async function prototypeGrants(
  db: Db,
  org: { id: number; name: string },
  creatorId: number | null,
): Promise<PrototypeGrants> {
  const rows = await db
    .select({
      activatingUserId: permissionPrototypes.activatingUserId,
      delegateUserId: permissionPrototypes.delegateUserId,
      delegateTeamId: permissionPrototypes.delegateTeamId,
      delegateName: delegateUsers.username,
      delegateKind: delegateUsers.kind,
      role: permissionPrototypes.role,
    })
    .from(permissionPrototypes)
    .leftJoin(delegateUsers, eq(delegateUsers.id, permissionPrototypes.delegateUserId))
    .where(
      and(
        eq(permissionPrototypes.organizationId, org.id),
        creatorId === null
          ? isNull(permissionPrototypes.activatingUserId)
          : or(isNull(permissionPrototypes.activatingUserId), eq(permissionPrototypes.activatingUserId, creatorId)),
      ),
    )
    .all();
  const pick = (candidates: typeof rows) => {
    const specific = candidates.filter((r) => r.activatingUserId !== null);
    return strongestRole((specific.length > 0 ? specific : candidates).map((r) => r.role))!;
  };
  const byKey = <K extends number>(key: (r: (typeof rows)[number]) => K | null) => {
    const groups = new Map<K, typeof rows>();
    for (const row of rows) {
      const k = key(row);
      if (k !== null) groups.set(k, [...(groups.get(k) ?? []), row]);
    }
    return groups;
  };
  const userGroups = byKey((r) => {
    if (r.delegateUserId === null || r.delegateUserId === creatorId || r.delegateKind === "organization") return null;
    if (r.delegateKind === "robot" && parseRobotName(r.delegateName ?? "")?.namespace !== org.name) return null;
    return r.delegateUserId;
  });
  const teamGroups = byKey((r) => r.delegateTeamId);
  return {
    users: [...userGroups].map(([userId, group]) => ({ userId, role: pick(group) })),
    teams: [...teamGroups].map(([teamId, group]) => ({ teamId, role: pick(group) })),
  };
}
