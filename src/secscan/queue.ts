/**
 * Queueing security scans (Quay's security worker, which indexes every manifest not yet indexed).
 * A manifest pushed with FEATURE_SECURITY_SCANNER on gets its `manifest_scans` row with the batch
 * that commits it ({@link commitWithScanQueue}: every push, mirror sync and proxy-cache fetch
 * commits through it), and a `scan` job for the connectors when the row is new: a manifest already known (pushed to another repository, scanned
 * before) is not scanned again. A manifest list, or an artifact that is no container image, is
 * `unsupported` at once, as Quay marks them (`mark_manifest_unsupported`): Clair indexes the
 * children of a list, which are pushed, and queued, on their own.
 */
import { eq, sql, type SQL } from "drizzle-orm";
import { batchSql, type Db, sameDatabase } from "../db/client";
import { type ManifestScan, manifestScans } from "../db/schema";
import { clock } from "../lib/clock";
import { loggableError } from "../lib/loggable-error";
import type { WriteClients } from "../registry/core-db";
import { isIndexMediaType, MediaType } from "../registry/media-types";

/** What queueing needs to know of a manifest (its row, or what a push parsed). */
export interface ScannableManifest {
  digest: string;
  repositoryId: number;
  mediaType: string;
  configMediaType: string | null;
}

/** Configs of container images; any other config is an artifact's (Helm chart, signature, SBOM). */
const IMAGE_CONFIGS: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];

/** Whether Clair can index the manifest at all (else Quay's `unsupported`). */
export function isScannable(manifest: Pick<ScannableManifest, "mediaType" | "configMediaType">): boolean {
  if (isIndexMediaType(manifest.mediaType)) return false;
  return manifest.configMediaType !== null && IMAGE_CONFIGS.includes(manifest.configMediaType);
}

/**
 * The statements recording that `manifest` awaits its scan: the `scan` job (only while the digest
 * has no row yet; the queue keeps one open job per digest) and the row, `queued` or `unsupported`.
 * The job comes first so that it reads the table before the row is inserted.
 */
export function scanQueueStatements(db: Db, manifest: ScannableManifest, nowMs = clock.now()): SQL[] {
  const scannable = isScannable(manifest);
  const row = db
    .insert(manifestScans)
    .values({ digest: manifest.digest, status: scannable ? "queued" : "unsupported", queuedAt: nowMs })
    .onConflictDoNothing()
    .getSQL();
  if (!scannable) return [row];
  return [scanJobIfNewStatement(manifest.digest, manifest.repositoryId, nowMs), row];
}

/**
 * A `scan` job for `digest` unless a row for it exists: the conditional twin of
 * src/connector/job-queue.ts `queueJobStatement` (one open job per kind and subject, so a repeat
 * does nothing). The SELECT has its WHERE, so SQLite reads ON CONFLICT as the upsert clause.
 */
function scanJobIfNewStatement(digest: string, repositoryId: number, nowMs: number): SQL {
  return sql`insert into connector_jobs (uuid, kind, subject, repository_id, available_at, created_at, updated_at)
    select ${crypto.randomUUID()}, 'scan', ${digest}, ${repositoryId}, ${nowMs}, ${nowMs}, ${nowMs}
    where not exists (select 1 from manifest_scans where digest = ${digest})
    on conflict do nothing`;
}

/**
 * Queues a manifest that has no row (pushed while the feature was off: the backfill Quay's worker
 * does), from its stored row; returns the status it now has.
 */
export async function backfillScan(db: Db, manifest: ScannableManifest): Promise<ManifestScan["status"]> {
  await batchSql(db, scanQueueStatements(db, manifest));
  const row = await db
    .select({ status: manifestScans.status })
    .from(manifestScans)
    .where(eq(manifestScans.digest, manifest.digest))
    .get();
  return row?.status ?? "queued";
}

/**
 * Commits a manifest: `statements`, its batch in the namespace's registry core, and `scan`, its
 * scan queueing ({@link scanQueueStatements}; `DB`'s tables, which the connectors lease from).
 * Returns the results of `statements`.
 *
 * With the core in `DB`, one batch, as always: the queueing commits with the manifest. With the
 * core on a shard no batch spans both databases, so the queueing follows once the core batch has
 * committed (a commit refused by its batch queues nothing), and a failure there is logged, not
 * thrown: the manifest is pushed. The gap is safe because the queueing is idempotent (the row is
 * `on conflict do nothing`, the job is only written while the digest has no row) and repaired
 * where it is read: a manifest without a row is queued by the next read of its security
 * (src/secscan/security-info.ts `securityOf` → {@link backfillScan}), and a `queued` row whose
 * job is missing gets its job again there. A lost queueing only delays the scan until the
 * manifest's security is first asked for, as for a manifest pushed while the scanner was off.
 */
export async function commitWithScanQueue(clients: WriteClients, statements: SQL[], scan: SQL[]): Promise<D1Result[]> {
  if (scan.length === 0 || sameDatabase(clients.db, clients.core))
    return batchSql(clients.core, [...statements, ...scan]);
  const results = await batchSql(clients.core, statements);
  await batchSql(clients.db, scan).catch((err: unknown) => {
    console.error(JSON.stringify({ msg: "scan not queued; a security read queues it", err: loggableError(err) }));
  });
  return results;
}
