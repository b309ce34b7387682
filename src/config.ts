/** Configuration from wrangler `[vars]`, validated once with zod. */
import { z } from "zod";

const configSchema = z.object({
  /** Seconds an idle upload lives before its Durable Object alarm aborts it. */
  UPLOAD_EXPIRY_SECONDS: z.coerce.number().int().positive().default(86_400),
  /** Quay's SUPER_USERS: the usernames with superuser powers, separated by commas or spaces. */
  SUPER_USERS: z
    .string()
    .default("")
    .transform((text) => text.split(/[\s,]+/).filter(Boolean)),
  /**
   * Quay's DIRECT_OAUTH_CLIENTID_WHITELIST: OAuth client ids for which `POST /oauth/authorizeapp`
   * with Basic credentials needs no CSRF token, so scripts can mint tokens.
   */
  DIRECT_OAUTH_CLIENTID_WHITELIST: z
    .string()
    .default("")
    .transform((text) => text.split(/[\s,]+/).filter(Boolean)),
  /** Quay's ROBOTS_DISALLOW: no robot may be created or log in. */
  ROBOTS_DISALLOW: z
    .enum(["true", "false", ""])
    .default("false")
    .transform((value) => value === "true"),
});

export type Config = z.infer<typeof configSchema>;

const parsedConfigs = new WeakMap<object, Config>();

/** The validated configuration of `env`, parsed once per env object. */
export function readConfig(env: Partial<Record<keyof Config, unknown>>): Config {
  const cached = parsedConfigs.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  parsedConfigs.set(env, parsed.data);
  return parsed.data;
}
