/**
 * The log-export kinds of the event catalogue (src/events/catalogue.ts spreads them into
 * `CATALOGUE`; docs/events.md, "Log exports"): Quay's `export_logs_success`, logged when an export
 * is accepted and queued, and `export_logs_failure`, when one is refused as invalid, each with
 * Quay's metadata (the export's id or the error, the callback URL, the callback e-mail).
 */
import { z } from "zod";

const callbacks = { url: z.string().nullable(), email: z.string().nullable() };

export const EXPORT_EVENTS = {
  export_logs_success: z.object({ exportId: z.string(), ...callbacks }),
  export_logs_failure: z.object({ error: z.string(), ...callbacks }),
};
