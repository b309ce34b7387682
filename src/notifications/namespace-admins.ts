/**
 * Who administers a namespace, as Quay's `notify_organization_admins` (data/model/
 * namespacequota.py) and its namespace `EmailMethod` find them: a user's namespace is the user
 * alone; an organization's, the members of its admin teams. Disabled accounts are left out: they
 * can neither read an in-app notification nor act on a mail. A namespace being deleted has none.
 */
import { findUser } from "../identity/users";
import type { Db } from "../db/client";
import type { User } from "../db/schema";
import { organizationAdmins } from "./methods";

/** The namespace `name` (a user or an organization, not being deleted), or undefined. */
export async function findNamespace(db: Db, name: string): Promise<User | undefined> {
  const found = await findUser(db, name);
  if (!found || found.kind === "robot" || found.deletingSince !== null) return undefined;
  return found;
}

/** The administrators of `namespace` (see above). */
export async function administratorsOf(db: Db, namespace: User): Promise<User[]> {
  const admins = namespace.kind === "organization" ? await organizationAdmins(db, namespace) : [namespace];
  return admins.filter((admin) => admin.enabled);
}

/** The administrators of the namespace `name`; none when it does not exist. */
export async function namespaceAdministrators(db: Db, name: string): Promise<User[]> {
  const namespace = await findNamespace(db, name);
  return namespace ? administratorsOf(db, namespace) : [];
}
