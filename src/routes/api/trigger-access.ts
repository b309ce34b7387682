/**
 * Who reaches a repository's build triggers (Quay's trigger.py: `require_repo_admin`,
 * `disallow_for_app_repositories`, `disallow_for_non_normal_repositories`): the repository's
 * admins with repo:admin; whoever may not pull it gets 404, as for a missing repository, and its
 * other readers 403 (src/routes/api/logs.ts `administeredRepository`). Build support off, there
 * are no triggers (404). A trigger named in the path must be the repository's (Quay looks a
 * trigger up by its uuid alone; Wharf does not let one repository's admins reach another's).
 */
import type { Context } from "hono";
import { readConfig } from "../../config";
import type { Repository, User } from "../../db/schema";
import { notFound } from "../../errors/domain";
import { requireTrigger, type TriggerRow } from "../../builds/triggers";
import { readOnlyRepository } from "../../registry/repository-state";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { administeredRepository } from "./logs";

export interface TriggerScope {
  repository: Repository;
  user: User;
}

/** The path's repository for its admins (and the caller); `changing`: refused unless NORMAL. */
export async function triggerRepository(c: Context<AppEnv>, changing: boolean): Promise<TriggerScope> {
  if (!readConfig(c.env).FEATURE_BUILD_SUPPORT) throw notFound();
  const repository = await administeredRepository(c);
  if (repository.kind !== "image") throw notFound();
  if (changing && repository.state !== "NORMAL") throw readOnlyRepository(repository.name, repository.state);
  if (c.var.caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
  return { repository, user: c.var.caller.user };
}

/** The path's trigger of the path's repository, for its admins. */
export async function pathTrigger(c: Context<AppEnv>, changing: boolean): Promise<TriggerScope & { row: TriggerRow }> {
  const scope = await triggerRepository(c, changing);
  const row = await requireTrigger(c.var.db, scope.repository.id, c.req.param("trigger_uuid") ?? "");
  return { ...scope, row };
}

/** Quay's `UserAdminPermission(trigger.connected_user)`: only who set the trigger up configures its source. */
export function requireConnectedUser(scope: TriggerScope & { row: TriggerRow }): void {
  if (scope.row.trigger.connectedUserId !== scope.user.id) throw new ApiError("insufficient_scope", "Unauthorized");
}
