/**
 * The `$build` credential a connector pushes a build's image with (Quay's builder gets a
 * short-lived access token for the build's repository). Username `$build`; the password is
 * `<build uuid>.<lease attempt>.<expiry>.<mac>`, MACed with a key of its own (./signing.ts) over
 * those and the lease's token (which never leaves the lease's holder), good for an hour at most,
 * and only while that very lease of the build's job holds: once the build ends, is cancelled, or
 * its job is leased again (the connector died, or was deleted), it opens nothing. The attempt
 * number alone does not name a lease: a deleted connector's jobs go back to the queue without the
 * lease counting, so the next lease has the same number.
 * At the Docker token endpoint it grants push and pull on the build's repository and pull on what
 * the build's pull robot may pull; nothing else (src/identity/permissions.ts asks
 * {@link liveBuildGrant} on every token request and every /v2 write).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { connectorJobs, repositories, repositoryBuilds, users } from "../db/schema";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";
import { sign, verify } from "../lib/signing";
import { sameString } from "../lib/constant-time";

export const BUILD_USERNAME = "$build";
/** The longest a credential lives: the contract's hour (docs/connector.md). */
export const BUILD_CREDENTIAL_MAX_MS = 3600_000;

type SecretEnv = { WHARF_SECRET_KEY?: string };

const message = (uuid: string, attempt: number, expires: number, leaseToken: string) =>
  `${uuid}.${attempt}.${expires}.${leaseToken}`;

/** The lease a registry token of a `$build` credential names: its token's hash, not the token. */
const leaseFingerprint = (leaseToken: string) => sha256Hex(`wharf/v1/build-lease\u0000${leaseToken}`);

/** The credentials handed with lease `attempt` (token `leaseToken`) of build `uuid`'s job. */
export async function mintBuildCredential(env: SecretEnv, uuid: string, attempt: number, leaseToken: string) {
  const expiresAt = Math.floor((clock.now() + BUILD_CREDENTIAL_MAX_MS) / 1000);
  const mac = await sign(env, "wharf/v1/build-credential", message(uuid, attempt, expiresAt, leaseToken));
  return { username: BUILD_USERNAME, password: `${uuid}.${attempt}.${expiresAt}.${mac}`, expires_at: expiresAt };
}

/**
 * The build, lease and grant a `$build` password opens: its MAC holds for the lease its build's
 * job is leased under now, and it has not expired; else null.
 */
export async function provenBuild(
  db: Db,
  env: SecretEnv,
  password: string,
): Promise<{ build: string; attempt: number; lease: string; grant: BuildGrant } | null> {
  const match = /^([0-9a-f-]{36})\.(\d{1,4})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(password);
  if (!match) return null;
  const [, uuid, attempt, expires, mac] = match as unknown as [string, string, string, string, string];
  if (Number(expires) * 1000 <= clock.now()) return null;
  const live = await liveBuild(db, uuid, Number(attempt));
  if (!live?.leaseToken) return null;
  const signed = message(uuid, Number(attempt), Number(expires), live.leaseToken);
  if (!(await verify(env, "wharf/v1/build-credential", signed, mac))) return null;
  return { build: uuid, attempt: Number(attempt), lease: await leaseFingerprint(live.leaseToken), grant: live.grant };
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
 * The grant of build `uuid`'s credential of the lease fingerprinted `lease` (attempt `attempt`),
 * or null once that lease no longer holds: the build ended or was cancelled, or its job is no
 * longer leased under that lease.
 */
export async function liveBuildGrant(db: Db, uuid: string, attempt: number, lease: string): Promise<BuildGrant | null> {
  const live = await liveBuild(db, uuid, attempt);
  if (!live?.leaseToken || !sameString(await leaseFingerprint(live.leaseToken), lease)) return null;
  return live.grant;
}

/** Build `uuid` while it runs and its job is leased with attempt `attempt`: the grant, and the lease's token. */
async function liveBuild(db: Db, uuid: string, attempt: number) {
  const row = await db
    .select({
      leaseToken: connectorJobs.leaseToken,
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
  const grant: BuildGrant = { buildId: row.buildId, repository: row.repository, pullRobot };
  return { grant, leaseToken: row.leaseToken };
}
