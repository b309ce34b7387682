/**
 * What Quay's security API answers of a manifest (`getRepoManifestSecurity`, Quay
 * `endpoints/api/secscan.py` `_security_info`): its scan's status and, once scanned, the report
 * (src/secscan/clair-report.ts) read back from R2. A manifest with no scan yet (pushed while
 * FEATURE_SECURITY_SCANNER was off) is queued when asked about, as Quay's worker backfills them.
 */
import { eq } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { type Manifest, manifestScans } from "../db/schema";
import { queueJobStatement } from "../connector/job-queue";
import { clock } from "../lib/clock";
import type { BlobStore } from "../storage/blob-store";
import { type SecurityInformation, withoutVulnerabilities } from "./clair-report";
import { backfillScan } from "./queue";

/** Quay's SECURITY_SCANNER_V4_REINDEX_THRESHOLD default: a day. */
const RETRY_FAILED_MS = 24 * 60 * 60 * 1000;

export interface SecurityAnswer {
  status: "queued" | "scanned" | "failed" | "unsupported";
  data: SecurityInformation | null;
}

export async function securityOf(
  db: Db,
  store: BlobStore,
  manifest: Manifest,
  includeVulnerabilities: boolean,
): Promise<SecurityAnswer> {
  const row = await db.select().from(manifestScans).where(eq(manifestScans.digest, manifest.digest)).get();
  if (!row) return { status: await backfillScan(db, manifest), data: null };
  const rescan = () => {
    const job = { kind: "scan" as const, subject: manifest.digest, repositoryId: manifest.repositoryId };
    return batchSql(db, [queueJobStatement(db, job).getSQL()]);
  };
  // A queued scan whose job went with the repository that pushed it (jobs are the repository's)
  // is queued again for this one; an open job makes this a no-op. A failed scan is tried again
  // after a day, as Quay's worker retries failures after SECURITY_SCANNER_V4_REINDEX_THRESHOLD.
  if (row.status === "queued" || (row.status === "failed" && (row.scannedAt ?? 0) < clock.now() - RETRY_FAILED_MS))
    await rescan();
  if (row.status !== "scanned") return { status: row.status, data: null };
  const stored = row.reportKey ? await store.get(row.reportKey) : null;
  if (!stored) {
    // The report is gone from storage: scan again rather than show nothing as a result.
    await rescan();
    return { status: "queued", data: null };
  }
  const info = JSON.parse(await new Response(stored.body).text()) as SecurityInformation;
  return { status: "scanned", data: includeVulnerabilities ? info : withoutVulnerabilities(info) };
}
