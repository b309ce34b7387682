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
import type { BlobStore } from "../storage/blob-store";
import { type SecurityInformation, withoutVulnerabilities } from "./clair-report";
import { backfillScan } from "./queue";

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
  if (!row) return { status: await backfillScan(db, { ...manifest, repositoryId: manifest.repositoryId }), data: null };
  if (row.status !== "scanned") return { status: row.status, data: null };
  const stored = row.reportKey ? await store.get(row.reportKey) : null;
  if (!stored) {
    // The report is gone from storage: scan again rather than show nothing as a result.
    const job = { kind: "scan" as const, subject: manifest.digest, repositoryId: manifest.repositoryId };
    await batchSql(db, [queueJobStatement(db, job).getSQL()]);
    return { status: "queued", data: null };
  }
  const info = JSON.parse(await new Response(stored.body).text()) as SecurityInformation;
  return { status: "scanned", data: includeVulnerabilities ? info : withoutVulnerabilities(info) };
}
