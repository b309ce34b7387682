/**
 * The superuser's listings of every account (Quay `endpoints/api/superuser.py` `listAllUsers`,
 * `listAllOrganizations`): all at once when no `limit` is given, as Quay answers without one, or a
 * page of `limit` after the account id a `next_page` token carried. Accounts being deleted are gone
 * for these already (./namespace-deletion.ts).
 */
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { users, type User } from "../db/schema";

export interface AccountPage {
  /** Accounts per page; undefined for every one at once. */
  limit?: number;
  /** The id of the last account of the previous page. */
  after?: number;
}

/**
 * People: by name when listed at once (the order the superuser API always had), by id when paged.
 * `enabledOnly` is Quay's `disabled=false`.
 */
export async function listUserAccounts(db: Db, page: AccountPage & { enabledOnly?: boolean } = {}): Promise<User[]> {
  const where = and(
    eq(users.kind, "user"),
    isNull(users.deletingSince),
    page.enabledOnly ? eq(users.enabled, true) : undefined,
    page.limit === undefined ? undefined : gt(users.id, page.after ?? 0),
  );
  const query = db.select().from(users).where(where);
  return page.limit === undefined
    ? query.orderBy(users.username).all()
    : query.orderBy(asc(users.id)).limit(page.limit).all();
}

/** Live organizations, in the order they were created. */
export async function listOrganizations(db: Db, page: AccountPage = {}): Promise<User[]> {
  const query = db
    .select()
    .from(users)
    .where(and(eq(users.kind, "organization"), isNull(users.deletingSince), gt(users.id, page.after ?? 0)))
    .orderBy(asc(users.id));
  return page.limit === undefined ? query.all() : query.limit(page.limit).all();
}
