/** Events of the metrics' scrape tokens (src/metrics/scrape-tokens.ts): Wharf's kinds, superuser actions of no repository. */
import { z } from "zod";

const token = z.object({ uuid: z.string(), name: z.string() });

export const METRICS_TOKEN_EVENTS = {
  /** A superuser created a `/metrics` scrape token (Wharf's kind). */
  metrics_token_create: z.object({ token }),
  /** A superuser deleted a `/metrics` scrape token (Wharf's kind). */
  metrics_token_delete: z.object({ token }),
};
