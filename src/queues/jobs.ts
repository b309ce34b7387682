/**
 * Jobs on the EVENTS queue: work the consumer does in bounded steps (src/queues/consumer.ts), not
 * news of a change. A job is sent as its change's follow-up and repeated while work is left;
 * events (src/events/) report changes and come from the outbox. zod checks both ends.
 */
import { z } from "zod";
import { mailMessageSchema } from "../mail/message";
import { sinkEntrySchema } from "../events/logs-sink-entry";
import { loggableError } from "../lib/loggable-error";

export const registryJobSchema = z.discriminatedUnion("type", [
  // The repository vanished (renamed to a tombstone); the consumer purges its rows in chunks.
  z.object({
    type: z.literal("repository_deleted"),
    repository: z.string(),
    repositoryId: z.number().int(),
    at: z.number(),
  }),
  // A user or organization was hidden; the consumer purges it (src/identity/namespace-deletion.ts).
  z.object({
    type: z.literal("namespace_deleted"),
    namespace: z.string(),
    namespaceId: z.number().int(),
    at: z.number(),
  }),
  // Garbage collection found work in the repository (src/gc/scheduler.ts); its Durable Object does it.
  z.object({ type: z.literal("gc_repository"), repositoryId: z.number().int(), name: z.string() }),
  // A superuser asked for the registry's size (src/registry/registry-size.ts): one slice of the
  // blobs per message, the running total and the last digest summed carried to the next.
  z.object({ type: z.literal("registry_size"), after: z.string().nullable(), bytes: z.number().int().min(0) }),
  // A mail to send (src/mail/mailer.ts queueMail): one message, handed to the configured transport.
  z.object({ type: z.literal("mail"), message: mailMessageSchema }),
  // A log export (src/events/logs-export.ts): `build` writes the next part of its file, repeated
  // while the window is not read; `deliver` reports it (src/events/logs-export-delivery.ts).
  z.object({ type: z.literal("export_logs"), exportId: z.uuid(), phase: z.enum(["build", "deliver"]) }),
  // A repository's mirror sync (src/mirror/sync.ts): queued by the Cron Trigger for a due mirror
  // or by sync-now; the consumer claims the mirror first, so a repeat runs nothing.
  z.object({ type: z.literal("mirror_sync"), repositoryId: z.number().int() }),
  // An organization mirror's discovery, or its cancel (src/mirror/org-sync.ts): queued by the Cron
  // Trigger for a due mirror, or by sync-now and sync-cancel; the claim makes a repeat run nothing.
  z.object({ type: z.literal("org_mirror_sync"), orgMirrorId: z.number().int() }),
  // Action-log entries for the log sink (src/events/logs-sink.ts): one HEC request.
  z.object({ type: z.literal("log_sink"), entries: z.array(sinkEntrySchema).min(1) }),
]);

export type RegistryJob = z.infer<typeof registryJobSchema>;

/**
 * Sends a job and waits for the queue to take it. A failed send is logged, never thrown: the change
 * that needs the job is already committed, and a sweep finds what it leaves (src/gc/deletions.ts).
 */
export async function queueJob(env: Env, job: RegistryJob): Promise<void> {
  try {
    await env.EVENTS.send(job);
  } catch (err) {
    console.error(JSON.stringify({ msg: "job not queued", job, err: loggableError(err) }));
  }
}
