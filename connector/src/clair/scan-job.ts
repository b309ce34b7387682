/**
 * A `scan` job (docs/connector.md): hand the manifest's layers (short-lived signed URLs to the
 * edge's blobs) to Clair's indexer, wait for the index, read the matcher's vulnerability report,
 * and complete with it and the indexer's state (Quay keeps that state to re-index manifests when
 * Clair's indexers change). Clair refusing the manifest (4xx) is `unsupported`, as Quay marks it;
 * an index error or an unreachable Clair fails the job with retry.
 */
import { sleep } from "../backoff";
import { JobFailure, type JobRunner } from "../connector";
import { scanSpec } from "../jobs";
import { type ClairClient, ClairRejected, ClairUnavailable, type IndexReport } from "./clair-client";

const FINISHED = "IndexFinished";
const FAILED = "IndexError";
/** How long an index may take before the job is given back (Quay's index request timeout). */
const INDEX_TIMEOUT_MS = 10 * 60_000;

export function scanRunner(clair: ClairClient): JobRunner {
  return async (job, run) => {
    const parsed = scanSpec.safeParse(job.scan);
    if (!parsed.success) throw new JobFailure(`the scan job could not be read: ${parsed.error.message}`, false);
    const spec = parsed.data;
    const signal = run.signal;
    try {
      let report: IndexReport | null;
      try {
        report = await clair.index({ hash: spec.manifest, layers: spec.layers }, signal);
      } catch (err) {
        // Quay's InvalidContentSent: Clair's 400 (or 415, 422) says the manifest is not one it can index.
        if (err instanceof ClairRejected && [400, 415, 422].includes(err.status))
          return { result: { status: "unsupported", reason: err.message } };
        throw err;
      }
      const deadline = Date.now() + INDEX_TIMEOUT_MS;
      let wait = 500;
      while (report && report.state !== FINISHED && report.state !== FAILED) {
        if (Date.now() > deadline) throw new JobFailure(`Clair did not finish indexing ${spec.manifest} in time`, true);
        await sleep(wait, signal);
        if (signal.aborted) throw new Error("stopped");
        wait = Math.min(wait * 2, 5000);
        report = await clair.indexReport(spec.manifest, signal);
      }
      if (!report) throw new JobFailure(`Clair lost the index report of ${spec.manifest}`, true);
      if (report.state === FAILED)
        throw new JobFailure(`Clair could not index ${spec.manifest}: ${report.err || "IndexError"}`, true);
      const indexerState = await clair.indexState(signal);
      const vulnerabilities = await clair.vulnerabilityReport(spec.manifest, signal);
      return { result: { status: "scanned", indexer_state: indexerState, report: vulnerabilities } };
    } catch (err) {
      if (err instanceof ClairUnavailable || err instanceof ClairRejected) throw new JobFailure(err.message, true);
      throw err;
    }
  };
}
