/** Configuration from wrangler `[vars]`, validated once with zod. */
import { z } from "zod";

const configSchema = z.object({
  /** Seconds an idle upload lives before its Durable Object alarm aborts it. */
  UPLOAD_EXPIRY_SECONDS: z.coerce.number().int().positive().default(86_400),
});

export type Config = z.infer<typeof configSchema>;

export function readConfig(env: Partial<Record<keyof Config, unknown>>): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
