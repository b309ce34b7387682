/**
 * The `scan` job (docs/connector.md "scan"): a connector hands a manifest's layers to its Clair
 * and posts back Clair's VulnerabilityReport, which becomes what Quay's security API shows (kept
 * in R2, src/secscan/clair-report.ts) with counts in `manifest_scans`. A first scan tells each
 * repository holding the manifest what it found (`vulnerability_found`, as Quay's
 * FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX). The job's subject is the manifest's digest, its
 * repository the one that pushed it; any other repository holding the digest serves as well.
 */
import { and, desc, eq, isNull, ne, sql } from "drizzle-orm";
import { z } from "zod";
import type { JobContext, JobHandler, LeasedJob } from "../connector/job-kinds";
import { batchSql, database, type Db } from "../db/client";
import { manifestScans, manifests, repositories } from "../db/schema";
import { invalid } from "../errors/domain";
import { newEvent, type RegistryEvent } from "../events/catalogue";
import { systemOrigin, type RepositoryRef } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { clock } from "../lib/clock";
import type { Digest } from "../lib/digest";
import { sha256Hex } from "../lib/encoding";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { namespaceOf } from "../registry/repository-name";
import type { BlobStore } from "../storage/blob-store";
import { contentKey, securityReportKey } from "../storage/keys";
import { R2BlobStore } from "../storage/r2-blob-store";
import {
  type FoundVulnerability,
  newIndexVulnerabilities,
  scanSummary,
  securityInformation,
  vulnerabilityReportSchema,
} from "./clair-report";
import { holdersOf, inEveryCore } from "./holders";
import { signLayerLink } from "./layer-links";
import { isScannable } from "./queue";

const imageManifest = z.object({
  mediaType: z.string().optional(),
  layers: z.array(z.object({ mediaType: z.string(), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/) })).max(1000),
});

/** Quay's `_has_container_layers`: OCI image layers and Docker's layer (foreign ones are not served). */
function isContainerLayer(mediaType: string): boolean {
  if (mediaType.startsWith("application/vnd.oci.image.layer.nondistributable.")) return false;
  return (
    mediaType.startsWith("application/vnd.oci.image.layer.v1.tar") ||
    mediaType === "application/vnd.docker.image.rootfs.diff.tar.gzip"
  );
}

/**
 * A live copy of the manifest, the job's repository first; undefined when none is left. Copies are
 * in the cores of their namespaces, wherever the directory puts them ({@link inEveryCore}).
 */
async function liveCopy(env: Env, digest: string, preferred: number | null) {
  const copies = await inEveryCore(env, async (db) => {
    const copy = await liveCopyIn(db, digest, preferred);
    return copy ? [copy] : [];
  });
  return copies.find((copy) => copy.repository.id === preferred) ?? copies[0];
}

async function liveCopyIn(db: Db, digest: string, preferred: number | null) {
  return db
    .select({ manifest: manifests, repository: { id: repositories.id, name: repositories.name } })
    .from(manifests)
    .innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
    .where(
      and(eq(manifests.digest, digest), isNull(manifests.deletedAt), ne(repositories.namespace, TOMBSTONE_NAMESPACE)),
    )
    .orderBy(desc(sql`${manifests.repositoryId} = ${preferred ?? -1}`))
    .limit(1)
    .get();
}

/** The layers Clair indexes, in order, or null when the manifest is no container image. */
async function layersOf(store: BlobStore, digest: Digest): Promise<string[] | null> {
  const stored = await store.get(contentKey(digest));
  if (!stored) throw new Error(`scan of ${digest}: the manifest's bytes are missing from storage`);
  let parsed: z.infer<typeof imageManifest>;
  try {
    parsed = imageManifest.parse(JSON.parse(await new Response(stored.body).text()));
  } catch {
    return null;
  }
  if (parsed.layers.length === 0 || !parsed.layers.every((l) => isContainerLayer(l.mediaType))) return null;
  return parsed.layers.map((l) => l.digest);
}

const ORIGIN = systemOrigin("scanner");

const placeOf = (repository: RepositoryRef | null) =>
  repository ? { namespace: namespaceOf(repository.name), repository } : { namespace: null, repository: null };

/** Records the scan's end (`row` the columns that change) with its `manifest_scanned` and further events. */
async function recordScan(
  db: Db,
  ctx: JobContext,
  digest: Digest,
  repository: RepositoryRef | null,
  row: Partial<typeof manifestScans.$inferInsert> & { status: "scanned" | "failed" | "unsupported" },
  vulnerabilities: number,
  more: RegistryEvent[] = [],
): Promise<void> {
  const nowMs = clock.now();
  const scanned = newEvent(
    "manifest_scanned",
    placeOf(repository),
    ORIGIN,
    { digest, status: row.status, vulnerabilities },
    nowMs,
  );
  const events = [scanned, ...more];
  await batchSql(db, [
    db
      .insert(manifestScans)
      .values({ digest, queuedAt: nowMs, ...row })
      .onConflictDoUpdate({ target: manifestScans.digest, set: row })
      .getSQL(),
    ...events.map((event) => eventStatement(db, event).getSQL()),
  ]);
  ctx.scope.publish(events);
}

async function describe(job: LeasedJob, ctx: JobContext) {
  const db = database(ctx.env.DB);
  const digest = job.subject as Digest;
  const copy = await liveCopy(ctx.env, digest, job.repositoryId);
  if (!copy) return null;
  const layers = isScannable(copy.manifest) ? await layersOf(new R2BlobStore(ctx.env.BLOBS), digest) : null;
  if (!layers) {
    await recordScan(db, ctx, digest, copy.repository, { status: "unsupported", scannedAt: clock.now() }, 0);
    return null;
  }
  const nowMs = clock.now();
  const uris = await Promise.all(
    layers.map(async (layer) => {
      const grant = { repositoryId: copy.repository.id, manifest: digest, layer: layer as Digest };
      return `${ctx.origin}/connector/v1/layers/${await signLayerLink(ctx.env, grant, nowMs)}`;
    }),
  );
  return {
    scan: {
      manifest: digest,
      repository: copy.repository.name,
      layers: layers.map((hash, i) => ({ hash, uri: uris[i]!, headers: {} })),
    },
  };
}

const scanResult = z.discriminatedUnion("status", [
  z.object({ status: z.literal("scanned"), indexer_state: z.string().max(1024), report: z.unknown() }),
  z.object({ status: z.literal("unsupported"), reason: z.string().max(4096).default("") }),
]);

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw invalid(`${what}: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`);
}

async function complete(job: LeasedJob, body: unknown, ctx: JobContext): Promise<void> {
  const result = parsed(scanResult, body, "scan result");
  const db = database(ctx.env.DB);
  const digest = job.subject as Digest;
  const nowMs = clock.now();
  const holders = await holdersOf(ctx.env, [digest], nowMs);
  const own = holders.find((h) => h.repository.id === job.repositoryId) ?? holders[0];
  if (result.status === "unsupported") {
    const row = { status: "unsupported" as const, error: result.reason || null, scannedAt: nowMs };
    return recordScan(db, ctx, digest, own?.repository ?? null, row, 0);
  }
  const report = parsed(vulnerabilityReportSchema, result.report, "report");
  if (report.manifest_hash !== digest) throw invalid(`report: manifest_hash is not ${digest}`);
  const info = securityInformation(report);
  const summary = scanSummary(info);
  const store = new R2BlobStore(ctx.env.BLOBS);
  const key = securityReportKey(digest, nowMs);
  const text = JSON.stringify(info);
  await store.putVerified(key, new TextEncoder().encode(text), await sha256Hex(text));
  const previous = await db.select().from(manifestScans).where(eq(manifestScans.digest, digest)).get();
  // Quay notifies a manifest's vulnerabilities once, when it is first indexed; later changes come
  // from Clair's notifications (./notification-job.ts).
  const found: FoundVulnerability[] = previous?.status === "scanned" ? [] : newIndexVulnerabilities(info);
  const notices =
    found.length === 0
      ? []
      : holders.map((holder) =>
          newEvent(
            "vulnerability_found",
            placeOf(holder.repository),
            ORIGIN,
            {
              digest,
              // Quay names the digest when no tag points at the manifest.
              tags: holder.tags.length > 0 ? holder.tags : [digest],
              vulnerabilities: found,
            },
            nowMs,
          ),
        );
  const total = Object.values(summary.vulnerabilities).reduce((a, b) => a + b, 0);
  const row = {
    status: "scanned" as const,
    indexerState: result.indexer_state,
    summary: JSON.stringify(summary),
    reportKey: key,
    error: null,
    scannedAt: nowMs,
  };
  await recordScan(db, ctx, digest, own?.repository ?? null, row, total, notices);
  if (previous?.reportKey && previous.reportKey !== key) await store.delete([previous.reportKey]);
}

/** Failed for good: `failed`, unless an earlier scan stands (its report is still the best there is). */
async function fail(job: LeasedJob, reason: string, ctx: JobContext): Promise<void> {
  const db = database(ctx.env.DB);
  const digest = job.subject as Digest;
  const previous = await db.select().from(manifestScans).where(eq(manifestScans.digest, digest)).get();
  const error = reason.slice(0, 4096);
  const holders = await holdersOf(ctx.env, [digest]);
  const own = holders.find((h) => h.repository.id === job.repositoryId) ?? holders[0];
  if (previous?.status === "scanned") {
    await db.update(manifestScans).set({ error }).where(eq(manifestScans.digest, digest));
    return;
  }
  await recordScan(db, ctx, digest, own?.repository ?? null, { status: "failed", error, scannedAt: clock.now() }, 0);
}

export const scanJobHandler: JobHandler = { kind: "scan", describe, complete, fail };
