/**
 * The object key layout, built and read only here:
 *
 *   blobs/sha256/<hex>   bytes of a blob or manifest whose digest was known before they were
 *                        written (monolithic pushes, manifests, small chunked uploads); written
 *                        once, with the store verifying the SHA-256 on put.
 *   uploads/<uuid>       a chunked upload assembled with R2 multipart, or the one object of an
 *                        upload whose first request declared its length (src/registry/upload-single.ts).
 *                        R2 cannot rename, so once its digest is verified this object *is* the
 *                        blob (D1 `blobs.storage_key`).
 *   uploads/<uuid>.continued
 *                        the multipart object of such an upload that went on past its first
 *                        request: the one object is copied into it, then deleted.
 *   actionlogarchive/<YYYY-MM-DD>/<namespace id or _>/[s<shard>-]<first id>-<last id>.ndjson
 *                        action-log entries past their retention (src/events/logs-archive.ts), by
 *                        day and namespace, one entry a line; `s<n>-` for D1 shard n's
 *                        (src/db/shards.ts: ids are per database). Not under KEY_PREFIXES: no row names
 *                        them, and the sweep must leave them alone.
 *   exportedlogs/<export id>/<n>.json
 *                        the parts of a log export's file (src/events/logs-export.ts), served
 *                        one after the other behind a signed link; removed by the cron with
 *                        their export. Not under KEY_PREFIXES either.
 *   securityreports/<hex>/<scanned at ms>.json
 *                        a manifest's security scan as the API shows it (src/secscan/), by the
 *                        manifest's digest and the time of the scan, so a new scan writes a new
 *                        key; the row names the current one and the older is deleted after.
 *                        Not under KEY_PREFIXES: the sweep must leave them alone.
 *
 * No key is ever rewritten with other content, so no key is a mutable pointer (R2 allows about
 * one write per second per key). Digests are taken as the `sha256:<hex>` strings they are, so this
 * module needs nothing from the domain above it.
 */

const CONTENT_PREFIX = "blobs/sha256/";
const UPLOAD_PREFIX = "uploads/";
const SHA256 = "sha256:";

/**
 * Every prefix the layout writes under, each listed in turn by garbage collection's sweep
 * (src/gc/r2-sweep.ts). `blobs/` rather than `blobs/sha256/`, so that content of another digest
 * algorithm, were one ever written, would still be swept.
 */
export const KEY_PREFIXES: readonly string[] = ["blobs/", UPLOAD_PREFIX];

/** Where the bytes of content with this digest live when it was known before they were written. */
export function contentKey(digest: `sha256:${string}`): string {
  return `${CONTENT_PREFIX}${digest.slice(SHA256.length)}`;
}

/** Where a chunked upload is assembled (and stays, once verified). */
export function uploadKey(uploadId: string): string {
  return `${UPLOAD_PREFIX}${uploadId}`;
}

/** Where an upload stored as one object continues as a multipart object (its key stays distinct). */
export function uploadContinuationKey(uploadId: string): string {
  return `${uploadKey(uploadId)}.continued`;
}

/** The digest whose content key `key` is, or null for any other key (an upload's). */
export function digestOfContentKey(key: string): `sha256:${string}` | null {
  return key.startsWith(CONTENT_PREFIX) ? `${SHA256}${key.slice(CONTENT_PREFIX.length)}` : null;
}

const ARCHIVE_PREFIX = "actionlogarchive/";

/** The archived action-log entries of a UTC day (`YYYY-MM-DD`), of one namespace when it is given. */
export function actionLogArchivePrefix(day: string, namespaceId?: number | null): string {
  if (namespaceId === undefined) return `${ARCHIVE_PREFIX}${day}/`;
  return `${ARCHIVE_PREFIX}${day}/${namespaceId ?? "_"}/`;
}

/**
 * One file of archived entries: ids `firstId` to `lastId` of a day and namespace (null: none), of
 * D1 shard `shard` (src/db/shards.ts): ids are per database, so a shard's files are named apart.
 */
export function actionLogArchiveKey(
  day: string,
  namespaceId: number | null,
  firstId: number,
  lastId: number,
  shard = 0,
): string {
  return `${actionLogArchivePrefix(day, namespaceId)}${shard === 0 ? "" : `s${shard}-`}${firstId}-${lastId}.ndjson`;
}

const EXPORT_PREFIX = "exportedlogs/";

/** Part `n` (from 0) of the file of log export `exportId`. */
export function logExportPartKey(exportId: string, n: number): string {
  return `${EXPORT_PREFIX}${exportId}/${n}.json`;
}

const SECURITY_REPORT_PREFIX = "securityreports/";

/** Where the security scan of manifest `digest` made at `scannedAtMs` is kept. */
export function securityReportKey(digest: `sha256:${string}`, scannedAtMs: number): string {
  return `${SECURITY_REPORT_PREFIX}${digest.slice(SHA256.length)}/${scannedAtMs}.json`;
}

const FILEDROP_PREFIX = "filedrops/";

/**
 * A file uploaded for a build (src/builds/filedrop.ts), by its `file_id`: removed with its row by
 * the cron once expired. Not under KEY_PREFIXES: garbage collection's sweep leaves them alone.
 */
export function filedropKey(fileId: string): string {
  return `${FILEDROP_PREFIX}${fileId}`;
}
