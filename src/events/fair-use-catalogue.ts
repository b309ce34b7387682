/**
 * The kinds of the event catalogue for a superuser's fair-use overrides of an organization
 * (src/fairuse/override-changes.ts; Wharf's own: Quay has no such budgets). The namespace is the
 * envelope's; no repository. Budgets are null for "the deployment's default", 0 for "none".
 */
import { z } from "zod";

const budget = z.number().int().min(0).nullable();
const budgets = z.object({ requestsPerMinute: budget, pullBytesPerHour: budget });

export const FAIR_USE_EVENTS = {
  /** An override set or changed; `previous` is what was set before (null: none). */
  set_namespace_fair_use: budgets.extend({ previous: budgets.nullable() }),
  /** The override removed: the namespace has the defaults again. */
  delete_namespace_fair_use: budgets,
};
