/**
 * The log sink: Quay's log forwarding to Splunk (data/logs_model/logs_producer/
 * splunk_hec_logs_producer.py) for people who keep audit trails elsewhere. With
 * ACTION_LOG_SINK_URL set, every action-log entry is also sent to that Splunk HTTP Event Collector
 * as Quay sends it: `{"event": {kind, account, performer, repository, ip, metadata_json,
 * datetime}, "sourcetype": "access_combined", "host": <SERVER_HOSTNAME>}` (plus HEC's `time`, the
 * entry's time in epoch seconds), with `Authorization: Splunk <ACTION_LOG_SINK_TOKEN>`.
 *
 * Never on a request's path: the EVENTS consumer, once it has written a batch's entries (events in
 * src/queues/consumer.ts, pulls in src/queues/pull-statistics.ts), queues them as `log_sink` jobs of
 * at most {@link SINK_BATCH_BYTES} each, and each job is one HEC request of concatenated events
 * (HEC's batch format) through the outbound guard. A failure or a non-2xx answer fails the job,
 * which the queue retries as it retries every job; the entries' own delivery is not repeated.
 */
import { readConfig } from "../config";
import { queueJob } from "../queues/jobs";
import type { PullRecord } from "../registry/pull-counts";
import { guardedFetch } from "../lib/outbound";
import type { RegistryEvent } from "./catalogue";
import { isLogged, metadataOf, performerOf } from "./logs-metadata";
import { pullMetadata } from "./logs-writer";
import type { SinkEntry } from "./logs-sink-entry";

export { type SinkEntry, sinkEntrySchema } from "./logs-sink-entry";

/** A job's bytes at most (JSON): well under a queue message's 128 KB. */
export const SINK_BATCH_BYTES = 96 * 1024;

/** Quay's sourcetype when none is configured. */
const SOURCETYPE = "access_combined";

const shortName = (repository: string | null, namespace: string | null) =>
  repository && namespace && repository.startsWith(`${namespace}/`)
    ? repository.slice(namespace.length + 1)
    : repository;

/** The entry of a logged event, or null for a kind that is not logged. */
export function sinkEntryOfEvent(event: RegistryEvent): SinkEntry | null {
  if (!isLogged(event.kind)) return null;
  return {
    kind: event.kind,
    account: event.namespace,
    performer: performerOf(event.actor)?.name ?? null,
    repository: shortName(event.repository?.name ?? null, event.namespace),
    ip: event.ip,
    metadata_json: metadataOf(event),
    datetime: new Date(event.at).toISOString(),
  };
}

/** The `pull_repo` entry of a pull. */
export function sinkEntryOfPull(pull: PullRecord): SinkEntry {
  return {
    kind: "pull_repo",
    account: pull.namespace,
    performer: pull.actor.kind === "anonymous" ? null : pull.actor.name,
    repository: shortName(pull.repository, pull.namespace),
    ip: pull.clientIp,
    metadata_json: JSON.parse(pullMetadata(pull)),
    datetime: new Date(pull.at).toISOString(),
  };
}

/** Splits `entries` into jobs of at most {@link SINK_BATCH_BYTES} (an entry larger alone is a job alone). */
export function sinkBatches(entries: readonly SinkEntry[]): SinkEntry[][] {
  const batches: SinkEntry[][] = [];
  let batch: SinkEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry).length + 1;
    if (batch.length > 0 && bytes + size > SINK_BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Queues the entries just written for the sink, when one is configured; never throws. */
export async function queueForSink(env: Env, entries: readonly (SinkEntry | null)[]): Promise<void> {
  if (readConfig(env).ACTION_LOG_SINK_URL === "") return;
  const kept = entries.filter((e): e is SinkEntry => e !== null);
  for (const batch of sinkBatches(kept)) await queueJob(env, { type: "log_sink", entries: batch });
}

/** One HEC request with `entries` (a `log_sink` job's step); throws for the queue to retry. */
export async function sendToSink(env: Env, entries: readonly SinkEntry[]): Promise<void> {
  const config = readConfig(env);
  if (config.ACTION_LOG_SINK_URL === "" || entries.length === 0) return;
  const host = config.SERVER_HOSTNAME || "wharf";
  const body = entries
    .map((event) => JSON.stringify({ time: Date.parse(event.datetime) / 1000, host, sourcetype: SOURCETYPE, event }))
    .join("\n");
  const res = await guardedFetch(env, config.ACTION_LOG_SINK_URL, {
    method: "POST",
    headers: { Authorization: `Splunk ${env.ACTION_LOG_SINK_TOKEN ?? ""}`, "Content-Type": "application/json" },
    body,
  });
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) throw new Error(`log sink answered ${res.status}`);
}
