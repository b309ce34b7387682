/**
 * Request fields repository mirroring (Quay `endpoints/api/mirror.py`) and organization mirroring
 * (`endpoints/api/org_mirror.py`) read alike.
 */
import { z } from "zod";

/** A username, password or proxy URL: text, or null for none. */
export const nullableText = z.string().max(2048).nullable();

/** `external_registry_config.proxy`: the proxies a sync reaches its source through. */
export const registryProxy = z
  .object({
    https_proxy: nullableText.optional(),
    http_proxy: nullableText.optional(),
    no_proxy: nullableText.optional(),
  })
  .optional();

/** Quay's truthy query values for `detailed` (its health endpoints' `str_to_bool`). */
export const isTruthyArg = (value: string | undefined) =>
  value !== undefined && ["true", "1", "yes", "y", "t"].includes(value.toLowerCase());
