/**
 * The EVENTS queue consumer. The queue carries two things:
 * - events (src/events/, docs/events.md), each checked against the catalogue, handed once per id
 *   to the subscribers (src/events/subscribers.ts; repeats are dropped, src/events/deliveries.ts);
 * - jobs (src/queues/jobs.ts): a `repository_deleted` or `namespace_deleted` job purges the deleted
 *   rows, a `registry_size` job sums the blobs' sizes (src/registry/registry-size.ts), and a
 *   `gc_repository` job has the repository's Durable Object collect its garbage, a
 *   bounded amount per message: what is left is queued again as a fresh message (retries are
 *   capped, a large purge or collection is not). A failed step is retried.
 *   A `mail` job sends one mail through the configured transport (src/mail/mailer.ts); it is never
 *   logged with its text, which may hold a code. An `export_logs` job builds a log export's file a
 *   part a step, then delivers it (src/events/logs-export.ts). A `log_sink` job sends action-log
 *   entries to the Splunk HEC log sink (src/events/logs-sink.ts), queued here once events are handed.
 *   A `mirror_sync` job runs one repository's mirror sync (src/mirror/sync.ts); an
 *   `org_mirror_sync` job an organization mirror's discovery (src/mirror/org-sync.ts).
 * - pull records (src/queues/pull-statistics.ts), summed into pull statistics;
 * - the health checks' probes (src/queues/health-probe.ts), acknowledged and dropped.
 * Malformed messages are acknowledged and logged rather than retried forever.
 */
import { database } from "../db/client";
import { allShardDbs } from "../db/shards";
import { looksLikeEvent, parseEvent, type RegistryEvent } from "../events/catalogue";
import { deliveredAlready, recordDelivered } from "../events/deliveries";
import { deliverEvent } from "../events/subscribers";
import { deliverMail, mailForLog } from "../mail/mailer";
import { purgeNamespace } from "../identity/namespace-deletion";
import { purgeRepository } from "../registry/repository-deletion";
import { repositoryObject } from "../registry/repository-object";
import { calculateRegistrySizeStep } from "../registry/registry-size";
import { type RegistryJob, registryJobSchema } from "./jobs";
import { consumePulls, isPullsMessage } from "./pull-statistics";
import { isHealthProbe } from "./health-probe";
import { clock } from "../lib/clock";
import { exportStep } from "../events/logs-export";
import { deliverExport } from "../events/logs-export-delivery";
import { queueForSink, sendToSink, sinkEntryOfEvent } from "../events/logs-sink";
import { R2BlobStore } from "../storage/r2-blob-store";
import { runMirrorSync } from "../mirror/sync";
import { runOrgMirrorSync } from "../mirror/org-sync";
import { loggableError } from "../lib/loggable-error";

/** Runs the job's bounded step; the job to queue for the work left, or null when done. */
async function step(env: Env, job: RegistryJob): Promise<RegistryJob | null> {
  const db = database(env.DB);
  const again = (more: boolean) => (more ? job : null);
  switch (job.type) {
    case "repository_deleted":
      return again(!(await purgeRepository(allShardDbs(env), job.repositoryId)).done);
    case "namespace_deleted":
      return again(!(await purgeNamespace(allShardDbs(env), job.namespaceId)).done);
    case "gc_repository":
      // Collection uses the consumer's clock: a message that waited is only more conservative.
      return again(
        (await repositoryObject(env, job.name).collectGarbage(job.repositoryId, clock.now(), job.name)).more,
      );
    case "registry_size": {
      const next = await calculateRegistrySizeStep(db, job, allShardDbs(env));
      return next && { type: "registry_size", ...next };
    }
    case "mail":
      await deliverMail(env, job.message);
      return null;
    case "export_logs":
      if (job.phase === "deliver") {
        await deliverExport(env, job.exportId);
        return null;
      }
      return (await exportStep(env, new R2BlobStore(env.BLOBS), job.exportId)) ? job : { ...job, phase: "deliver" };
    case "log_sink":
      await sendToSink(env, job.entries);
      return null;
    case "mirror_sync":
      // A failed sync is recorded and released by the sync itself; only an outage throws here.
      await runMirrorSync(env, job.repositoryId);
      return null;
    case "org_mirror_sync":
      await runOrgMirrorSync(env, job.orgMirrorId);
      return null;
  }
}

const FAILURES: Record<RegistryJob["type"], string> = {
  repository_deleted: "repository purge failed",
  namespace_deleted: "repository purge failed",
  gc_repository: "garbage collection failed",
  registry_size: "registry size calculation failed",
  mail: "mail not sent; retried",
  export_logs: "log export step failed; retried",
  log_sink: "log sink not reached; retried",
  mirror_sync: "mirror sync failed; retried",
  org_mirror_sync: "organization mirror discovery failed; retried",
};

/** A job as the log may show it: a mail's subject and domain only (its text may hold a code). */
function loggable(job: RegistryJob): Record<string, unknown> {
  if (job.type === "log_sink") return { type: job.type, entries: job.entries.length };
  return job.type === "mail" ? { type: job.type, ...mailForLog(job.message) } : job;
}

function dropMalformed(message: Message<unknown>): void {
  console.error(JSON.stringify({ msg: "malformed queue message dropped", id: message.id }));
  message.ack();
}

async function runJob(env: Env, message: Message<unknown>, job: RegistryJob): Promise<void> {
  console.log(JSON.stringify({ msg: "registry job", ...loggable(job) }));
  try {
    const next = await step(env, job);
    if (next) await env.EVENTS.send(next);
  } catch (err) {
    console.error(JSON.stringify({ msg: FAILURES[job.type], job: loggable(job), err: loggableError(err) }));
    message.retry();
    return;
  }
  message.ack();
}

interface Delivery {
  message: Message<unknown>;
  event: RegistryEvent;
}

/**
 * Hands each event not delivered before to the subscribers, then records the ids delivered. An
 * event whose subscriber fails is retried; one whose id was delivered already (here or in an
 * earlier batch) is acknowledged unseen.
 */
async function deliverEvents(env: Env, deliveries: Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  const db = database(env.DB);
  let delivered: Set<string>;
  try {
    delivered = await deliveredAlready(
      db,
      deliveries.map((d) => d.event.id),
    );
  } catch (err) {
    console.error(JSON.stringify({ msg: "event deliveries unknown; retried", err: loggableError(err) }));
    for (const { message } of deliveries) message.retry();
    return;
  }
  const handed: Delivery[] = [];
  for (const delivery of deliveries) {
    const { message, event } = delivery;
    if (delivered.has(event.id)) {
      console.log(JSON.stringify({ msg: "duplicate event skipped", id: event.id, kind: event.kind }));
      message.ack();
      continue;
    }
    delivered.add(event.id);
    try {
      await deliverEvent(env, event);
    } catch (err) {
      console.error(JSON.stringify({ msg: "event delivery failed; retried", id: event.id, err: loggableError(err) }));
      // Another copy of this id later in the batch is then delivered in its place.
      delivered.delete(event.id);
      message.retry();
      continue;
    }
    handed.push(delivery);
  }
  try {
    await recordDelivered(
      db,
      handed.map((d) => d.event.id),
      clock.now(),
    );
  } catch (err) {
    // The subscribers have the events; unrecorded, a repeat would reach them again (at least once).
    console.error(JSON.stringify({ msg: "event deliveries not recorded", err: loggableError(err) }));
  }
  for (const { message } of handed) message.ack();
  // The log sink's copies, as jobs of their own: the sink's failures retry them, not the events.
  await queueForSink(
    env,
    handed.map((d) => sinkEntryOfEvent(d.event)),
  );
}

export async function consumeQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const pulls = batch.messages.filter((message) => isPullsMessage(message.body));
  if (pulls.length > 0) await consumePulls(pulls, env);
  const deliveries: Delivery[] = [];
  for (const message of batch.messages) {
    if (isPullsMessage(message.body)) continue;
    if (isHealthProbe(message.body)) {
      message.ack();
      continue;
    }
    if (looksLikeEvent(message.body)) {
      const event = parseEvent(message.body);
      if (event) deliveries.push({ message, event });
      else dropMalformed(message);
      continue;
    }
    const job = registryJobSchema.safeParse(message.body);
    if (job.success) await runJob(env, message, job.data);
    else dropMalformed(message);
  }
  await deliverEvents(env, deliveries);
}
