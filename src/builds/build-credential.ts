/**
 * The `$build` credential a connector pushes a build's image with (Quay's builder gets a
 * short-lived access token for the build's repository). Username `$build`; the password is
 * `<build uuid>.<lease attempt>.<expiry>.<mac>`, MACed with a key of its own (./signing.ts),
 * good for an hour at most, and only while that very lease of the build's job holds: once the
 * build ends, is cancelled, or its job is leased again (the connector died), it opens nothing.
 * At the Docker token endpoint it grants push and pull on the build's repository and pull on what
 * the build's pull robot may pull; nothing else (src/identity/permissions.ts asks
 * {@link liveBuildGrant} on every token request and every /v2 write).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { connectorJobs, repositories, repositoryBuilds, users } from "../db/schema";
import { clock } from "../lib/clock";
import { sign, verify } from "../lib/signing";

export const BUILD_USERNAME = "$build";
/** The longest a credential lives: the contract's hour (docs/connector.md). */
export const BUILD_CREDENTIAL_MAX_MS = 3600_000;

type SecretEnv = { WHARF_SECRET_KEY?: string };

const message = (uuid: string, attempt: number, expires: number) => `${uuid}.${attempt}.${expires}`;

/** The credentials handed with lease `attempt` of build `uuid`'s job. */
export async function mintBuildCredential(env: SecretEnv, uuid: string, attempt: number) {
  const expiresAt = Math.floor((clock.now() + BUILD_CREDENTIAL_MAX_MS) / 1000);
  const mac = await sign(env, "wharf/v1/build-credential", message(uuid, attempt, expiresAt));
  return { username: BUILD_USERNAME, password: `${uuid}.${attempt}.${expiresAt}.${mac}`, expires_at: expiresAt };
}

/** Who a `$build` password names, if its MAC holds and it has not expired (liveness is asked later). */
export async function provenBuild(
  env: SecretEnv,
  password: string,
): Promise<{ build: string; attempt: number } | null> {
  const match = /^([0-9a-f-]{36})\.(\d{1,4})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(password);
  if (!match) return null;
  const [, uuid, attempt, expires, mac] = match as unknown as [string, string, string, string, string];
  if (!(await verify(env, "wharf/v1/build-credential", message(uuid, Number(attempt), Number(expires)), mac)))
    return null;
  if (Number(expires) * 1000 <= clock.now()) return null;
  return { build: uuid, attempt: Number(attempt) };
}

/** What a live build credential may reach. */
export interface BuildGrant {
  buildId: number;
  /** The build's repository: push and pull. */
  repository: string;
  /** The build's pull robot, whose pulls the credential may make. */
  pullRobot: { id: number; username: string } | null;
}

/**
 * The grant of build `uuid`'s credential of lease `attempt`, or null once that lease no longer
 * holds: the build ended or was cancelled, or its job is no longer leased under that attempt.
 */
export async function liveBuildGrant(db: Db, uuid: string, attempt: number): Promise<BuildGrant | null> {
  const row = await db
    .select({
      buildId: repositoryBuilds.id,
      repository: repositories.name,
      pullRobotId: repositoryBuilds.pullRobotId,
      pullRobot: sql<string | null>`(select u.username from ${users} u where u.id = ${repositoryBuilds.pullRobotId})`,
    })
    .from(repositoryBuilds)
    .innerJoin(repositories, eq(repositories.id, repositoryBuilds.repositoryId))
    .innerJoin(
      connectorJobs,
      and(
        eq(connectorJobs.kind, "build"),
        eq(connectorJobs.subject, repositoryBuilds.uuid),
        eq(connectorJobs.state, "leased"),
        eq(connectorJobs.attempts, attempt),
      ),
    )
    .where(
      and(
        eq(repositoryBuilds.uuid, uuid),
        sql`${repositoryBuilds.phase} not in ('complete', 'error', 'internalerror', 'cancelled', 'expired')`,
      ),
    )
    .get();
  if (!row) return null;
  const pullRobot = row.pullRobotId !== null && row.pullRobot ? { id: row.pullRobotId, username: row.pullRobot } : null;
  return { buildId: row.buildId, repository: row.repository, pullRobot };
}
