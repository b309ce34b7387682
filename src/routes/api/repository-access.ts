/**
 * The access rule of every `/api/v1/repository/{repository}/…` sub-resource (tags, manifests,
 * labels, auto-prune policies), in one place. As Quay: reads need repo:read and the pull right
 * (anonymous callers read public repositories); anyone else who may not pull gets 404, as for a
 * missing repository, so private names do not leak. Changes need a scope and a role (write or
 * admin); without them 403, whether or not the repository exists.
 */
import type { Context } from "hono";
import { callerWith } from "../../middleware/api-caller";
import { ApiError } from "./errors";
import { invalid, notFound } from "../../errors/domain";
import type { Repository, User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { repositoryAccess, userSubject } from "../../identity/permissions";
import type { TokenSubject } from "../../identity/registry-tokens";
import type { Scope } from "../../identity/scopes";
import { findRepository } from "../../registry/repositories";
import { nameRules, parseRepositoryName } from "../../registry/repository-name";

/** Who asks, as the permission module names callers: a user (robots included) or anonymous. */
export const subjectOf = (user: User | undefined): TokenSubject => (user ? userSubject(user) : { kind: "anonymous" });

/** A reader: anonymous callers read what is public; a token needs repo:read. */
export function reader(c: Context<AppEnv>): User | undefined {
  return c.var.caller.kind === "anonymous" ? undefined : callerWith(c.var.caller, "repo:read");
}

/**
 * The canonical name of the path's `{repository}` (Quay maps `foo` to `library/foo` too). A name
 * that cannot exist is 404, like a missing repository; without library support a one-component
 * name is 400, as Quay refuses an implicit library namespace.
 */
export function repositoryParam(c: Context<AppEnv>): string {
  const parsed = parseRepositoryName(c.req.param("repository"), nameRules(c.env));
  if (parsed.ok) return parsed.name;
  if (parsed.reason === "implicit_library")
    throw invalid("Repository names need a namespace: library support is disabled");
  throw notFound();
}

/** The repository in the path if the caller may pull it, else 404. */
export async function readableRepository(c: Context<AppEnv>): Promise<Repository> {
  const user = reader(c);
  const name = repositoryParam(c);
  const [actions, repository] = await Promise.all([
    repositoryAccess(c.var.db, subjectOf(user)).actions(name),
    findRepository(c.var.db, name),
  ]);
  if (!repository || !actions.includes("pull")) throw notFound();
  return repository;
}

/** The repository in the path for a caller holding `scope` and at least `role` on it (else 403). */
export async function changeableRepository(
  c: Context<AppEnv>,
  scope: Scope,
  role: "write" | "admin",
): Promise<Repository> {
  const user = callerWith(c.var.caller, scope);
  const name = repositoryParam(c);
  const held = await repositoryAccess(c.var.db, subjectOf(user)).role(name);
  if (held !== "admin" && !(role === "write" && held === "write")) throw new ApiError("insufficient_scope");
  const repository = await findRepository(c.var.db, name);
  if (!repository) throw notFound();
  return repository;
}
