/**
 * What a manifest push remembers in its isolate, so that one image pushed under many tags (a CI
 * run tagging a build `latest`, its version and its commit; a bench seeding 100,000 tags) does not
 * ask R2 and D1 the same two things at every PUT. Both facts are about content under a digest,
 * which never changes, and each is kept no longer than it stays true:
 *
 * - **When the manifest's bytes were last written.** A push makes sure its manifest's bytes are
 *   in R2 and younger than REWRITE_AFTER_MS (else it writes them again), because the garbage
 *   collector's R2 sweep deletes objects no row names once they are older than its grace period
 *   (src/gc/grace.ts: at least 15 minutes, three times REWRITE_AFTER_MS). Bytes this isolate saw
 *   written (by its own put, or in a HEAD) at T, with T within REWRITE_AFTER_MS of now, cannot
 *   have been swept since: they are younger than any grace. So the HEAD is skipped exactly when
 *   its answer would have let the push go on without a write.
 * - **An image config's labels**, by the config's digest: read from R2 once (Quay's
 *   `get_manifest_labels` on push, for `quay.expires-after` and the manifest's labels), then the
 *   same for every push of that config. The push still checks in D1 that its repository links the
 *   config blob (requireBlobs), so remembering the labels reveals nothing to anyone.
 */
import { clock } from "../lib/clock";
import { SizedLru } from "../lib/sized-lru";
import type { BlobStore } from "../storage/blob-store";
import type { Digest } from "./reference";
import type { ParsedManifest } from "./manifest-parse";
import type { Db } from "../db/client";
import { configLabels, readImageConfig } from "./labels";

/** Manifest bytes older than this are written again by a push; under the GC's 15-minute grace floor. */
export const REWRITE_AFTER_MS = 5 * 60 * 1000;

/** Storage key → when this isolate last saw its bytes written (ms). */
const writtenAt = new SizedLru<string, number>(1 << 20, 512);

/** Config digest → its string labels. */
const labelsByConfig = new SizedLru<string, Record<string, string>>(2 << 20, 64 * 1024);

/**
 * Makes sure `bytes` (a manifest, content-addressed under `key`) are in the store and younger than
 * {@link REWRITE_AFTER_MS}: the same manifest in another repository, or an object the GC's sweep
 * is about to delete because no row names it any more, is written again, which restarts its clock
 * so it outlives the push's commit. More recent bytes are kept as they are (R2 allows about one
 * write per second per key).
 */
export async function keepManifestBytes(store: BlobStore, key: string, bytes: Uint8Array, sha256Hex: string) {
  const nowMs = clock.now();
  const fresh = (at: number | null | undefined): at is number =>
    typeof at === "number" && at >= nowMs - REWRITE_AFTER_MS;
  if (fresh(writtenAt.get(key))) return;
  const stored = await store.writtenAt(key);
  if (fresh(stored)) {
    writtenAt.set(key, stored, key.length * 2 + 16);
    return;
  }
  await store.putVerified(key, bytes, sha256Hex);
  // R2 stamps the object at or after this moment: remembering this one errs on the early side.
  writtenAt.set(key, nowMs, key.length * 2 + 16);
}

/**
 * The string labels of the manifest's image config (`config.Labels`), {} for anything that is no
 * image or whose config cannot be read. `db` is the database holding the config's blob row.
 */
export async function pushedConfigLabels(
  db: Db,
  store: BlobStore,
  parsed: Pick<ParsedManifest, "configDigest" | "configMediaType">,
): Promise<Record<string, string>> {
  const digest: Digest | null = parsed.configDigest ?? null;
  const known = digest === null ? undefined : labelsByConfig.get(`${parsed.configMediaType} ${digest}`);
  if (known) return known;
  const config = await readImageConfig(db, store, parsed);
  const labels = configLabels(config);
  // A config not found (no row, no object) is not remembered: it may arrive later.
  if (digest !== null && config !== null)
    labelsByConfig.set(`${parsed.configMediaType} ${digest}`, labels, JSON.stringify(labels).length * 2 + 128);
  return labels;
}
