/**
 * What discovery makes of one source repository (Quay's `_ensure_local_repository` and the
 * OrgMirrorRepository row): a repository of the organization, created by the mirror robot with the
 * configured visibility, in state MIRROR with a repository mirror of every tag of
 * `<source host>/<source namespace>/<name>` that the repository mirror engine syncs; then the row
 * that records it as discovered. A repository of that name that is not this mirror's is left alone
 * and the name recorded as failed: discovery never takes over a repository someone else made.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type OrgMirrorConfig, orgMirrorRepositories, users } from "../db/schema";
import type { EventOrigin } from "../events/envelope";
import { type EventScope, publishEvents } from "../events/outbox";
import { clock } from "../lib/clock";
import { createRepository, findRepository, newNameProblem } from "../registry/repositories";
import { createMirror, findMirror, formatSyncDate } from "./configs";
import { parseExternalReference } from "./external-reference";
import type { OrgMirrorRegistryConfig } from "./org-configs";
import { repositoryRegistryConfig } from "./org-propagate";

export interface DiscoveryContext {
  env: Env;
  db: Db;
  org: { id: number; name: string };
  config: OrgMirrorConfig;
  origin: EventOrigin;
}

export interface SourceCredentials {
  username: string | null;
  password: string | null;
  registry: OrgMirrorRegistryConfig;
}

export type CreateOutcome = { ok: true; repositoryId: number } | { ok: false; message: string };

/** The repository mirror's `external_reference` for source repository `name`, or null. */
export function sourceRepositoryReference(config: OrgMirrorConfig, name: string): string | null {
  if (!URL.canParse(config.registryUrl.trim())) return null;
  const reference = `${new URL(config.registryUrl.trim()).host}/${config.externalNamespace}/${name}`;
  return "problem" in parseExternalReference(reference) ? null : reference;
}

async function record(d: DiscoveryContext, name: string, repositoryId: number | null, message: string | null) {
  await d.db
    .insert(orgMirrorRepositories)
    .values({
      orgMirrorId: d.config.id,
      repositoryName: name,
      repositoryId,
      discoveryDate: clock.now(),
      statusMessage: message,
    })
    .onConflictDoNothing();
}

async function failed(d: DiscoveryContext, name: string, message: string): Promise<CreateOutcome> {
  await record(d, name, null, message);
  return { ok: false, message };
}

export async function createMirroredRepository(
  d: DiscoveryContext,
  name: string,
  robot: { id: number; name: string },
  credentials: SourceCredentials,
): Promise<CreateOutcome> {
  const problem = newNameProblem(d.org.name, name);
  if (problem) return failed(d, name, problem);
  const reference = sourceRepositoryReference(d.config, name);
  if (!reference) return failed(d, name, "Invalid external registry reference");
  const fullName = `${d.org.name}/${name}`;
  const existing = await findRepository(d.db, fullName);
  if (existing) {
    // A run cut off after creating it: the mirror it made is the one to keep.
    const mirror = await findMirror(d.db, existing.id);
    if (existing.state !== "MIRROR" || mirror?.config.externalReference !== reference)
      return failed(d, name, "Repository already exists");
    await record(d, name, existing.id, null);
    return { ok: true, repositoryId: existing.id };
  }
  const creator = await d.db.select().from(users).where(eq(users.id, robot.id)).get();
  if (!creator) return failed(d, name, "Mirror robot not found");
  const published: Promise<void>[] = [];
  const scope: EventScope = {
    origin: d.origin,
    publish: (events) => void published.push(publishEvents(d.env, events)),
  };
  const outcome = await createRepository(
    d.db,
    { name: fullName, visibility: d.config.visibility, description: null, kind: "image", creator },
    scope,
  );
  if (!outcome.ok)
    return failed(d, name, outcome.reason === "exists" ? "Repository already exists" : "Namespace is being deleted");
  const nowMs = clock.now();
  const mirror = await createMirror(
    d.db,
    d.env,
    { id: outcome.repository.id, name: fullName },
    {
      is_enabled: true,
      external_reference: reference,
      external_registry_username: credentials.username,
      external_registry_password: credentials.password,
      // The repository mirror's verify_tls false is plain HTTP (README): an http:// source needs it.
      external_registry_config: repositoryRegistryConfig(d.config.registryUrl, credentials.registry),
      sync_interval: d.config.syncInterval,
      sync_start_date: formatSyncDate(Math.floor(nowMs / 1000) * 1000)!,
      robot_username: robot.name,
      root_rule: { rule_kind: "tag_glob_csv", rule_value: ["*"] },
      skopeo_timeout_interval: d.config.skopeoTimeout,
    },
    robot.id,
    d.origin,
    nowMs,
  );
  await publishEvents(d.env, mirror.events);
  await Promise.all(published);
  if (!mirror.created) return failed(d, name, "Repository mirror not created");
  await record(d, name, outcome.repository.id, null);
  return { ok: true, repositoryId: outcome.repository.id };
}
