/**
 * One action-log entry as the log sink sends it (./logs-sink.ts): Quay's `log_data`, checked by
 * zod where it travels in a `log_sink` job (src/queues/jobs.ts).
 */
import { z } from "zod";

/** Quay's `log_data` of one entry. */
export const sinkEntrySchema = z.object({
  kind: z.string(),
  account: z.string().nullable(),
  performer: z.string().nullable(),
  repository: z.string().nullable(),
  ip: z.string().nullable(),
  metadata_json: z.record(z.string(), z.unknown()),
  /** ISO 8601, UTC. */
  datetime: z.string(),
});

export type SinkEntry = z.infer<typeof sinkEntrySchema>;
