/**
 * The registry's configuration, for superusers: what the Worker runs with and whether a proposed
 * configuration would validate. A Worker's configuration is its wrangler.toml [vars] and secrets,
 * changed only by a deploy, so nothing here writes (Quay's `PUT /superuser/config`, which rewrites
 * config.yaml, has no counterpart).
 * - `GET /superuser/config` (Quay's config app `scGetConfig`): `{"config": {...}}`, each key the
 *   Worker reads with the value its [vars] give (null: unset, the default applies), plus whether
 *   each secret is set, never its value, and the public halves of the token signing keys (what a
 *   rotation with overlap needs: "Secrets rotation" in the README).
 * - `POST /superuser/config/validate`: `{"config": {...}}` checked with the Worker's own schema
 *   (src/config.ts): `{"status", "reason", "errors": [{"key", "message"}]}`, as Quay's
 *   `scValidateConfig` answers `status`/`reason` for one service.
 * - `GET /config` and `POST /config/validate`: the paths of Quay's config-tool (the config editor,
 *   `pkg/lib/editor/editor.go`), which answers `{"config.yaml": {...}, "certs": [...]}` and a list
 *   of `{"FieldGroup", "Tags", "Message"}` errors. Quay's editor is a separate service behind its
 *   own password; here they are superusers' operations under Wharf's names.
 */
import { Hono } from "hono";
import { z } from "zod";
import { CONFIG_KEYS, type ConfigIssue, configIssues, describeIssue, maskCredentials, SECRET_KEYS } from "../../config";
import { tokenPublicKeys } from "../../identity/registry-tokens";
import { requireSuperuser } from "../../middleware/api-caller";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { jsonBody } from "./validate";

export const configRoutes = new Hono<AppEnv>();

/** A proposed configuration: keys and values as YAML or JSON would give them (normalized below). */
const proposedConfig = z.record(z.string(), z.unknown());
const validateBody = z.object({ config: proposedConfig });

/**
 * Each configuration key's value as the Worker's env gives it; null when unset (the default
 * applies). A URL's user information (`https://user:password@host`) is a credential: masked.
 */
function effectiveConfig(env: Env): Record<string, unknown> {
  const vars = env as unknown as Record<string, unknown>;
  const masked = (value: unknown) => (typeof value === "string" ? maskCredentials(value) : value);
  return Object.fromEntries(CONFIG_KEYS.map((key) => [key, masked(vars[key] ?? null)]));
}

/** Whether each secret is set: never its value. */
function secretsSet(env: Env): Record<string, boolean> {
  const vars = env as unknown as Record<string, unknown>;
  return Object.fromEntries(SECRET_KEYS.map((key) => [key, typeof vars[key] === "string" && vars[key] !== ""]));
}

const isSecret = (key: string) => (SECRET_KEYS as readonly string[]).includes(key);

/**
 * A proposed configuration as [vars] strings: YAML's and JSON's booleans and numbers as text, a
 * list as commas (TAG_EXPIRATION_OPTIONS: ["1d", "2w"]), an object as JSON (OIDC_PROVIDERS), null
 * as unset. Keys the Worker does not read are errors: a secret belongs in `wrangler secret put`,
 * anything else is not a setting of Wharf's (many of Quay's do not apply to a Worker).
 */
function checkProposed(proposed: Record<string, unknown>, env: Env): ConfigIssue[] {
  const vars: Record<string, unknown> = {};
  const unknown: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(proposed)) {
    if (isSecret(key)) {
      unknown.push({ key, value: undefined, message: "is a secret: set it with `wrangler secret put`, not in [vars]" });
    } else if (!(CONFIG_KEYS as string[]).includes(key)) {
      unknown.push({ key, value: undefined, message: "is not a setting Wharf reads" });
    } else if (value !== null && value !== undefined) {
      // A list of words joins with commas; a list of objects (OIDC_PROVIDERS' providers) is JSON.
      vars[key] = Array.isArray(value)
        ? value.every((item) => typeof item !== "object" || item === null)
          ? value.join(",")
          : JSON.stringify(value)
        : typeof value === "object"
          ? JSON.stringify(value)
          : typeof value === "boolean" || typeof value === "number"
            ? String(value)
            : value;
    }
  }
  // The secrets a proposed setting needs (BLOB_REDIRECT's) are looked for among the Worker's own.
  return [...unknown, ...configIssues(vars, env as unknown as Record<string, unknown>)];
}

documented("GET", "/superuser/config", {
  operationId: "scGetConfig",
  summary: "Returns the configuration the registry runs with (secrets only as set or not).",
  scope: "super:user",
});
configRoutes.get("/superuser/config", requireSuperuser(), async (c) =>
  c.json({
    config: effectiveConfig(c.env),
    secrets: secretsSet(c.env),
    token_signing_keys: await tokenPublicKeys(c.env).catch(() => []),
  }),
);

documented("POST", "/superuser/config/validate", {
  operationId: "validateRegistryConfig",
  summary: "Validates a proposed configuration; nothing is applied (a deploy changes the configuration).",
  scope: "super:user",
  body: validateBody,
});
configRoutes.post("/superuser/config/validate", requireSuperuser(), async (c) => {
  const body = await jsonBody(c, validateBody);
  const issues = checkProposed(body.config, c.env);
  const errors = issues.map((issue) => ({ key: issue.key, message: describeIssue(issue) }));
  return c.json({ status: errors.length === 0, reason: errors.map((e) => e.message).join("; "), errors });
});

documented("GET", "/config", {
  operationId: "getConfigBundle",
  summary: "Returns the configuration as Quay's config editor does (config.yaml and certificates).",
  scope: "super:user",
});
configRoutes.get("/config", requireSuperuser(), (c) =>
  // A Worker holds no certificate files: TLS ends at Cloudflare's edge.
  c.json({ "config.yaml": effectiveConfig(c.env), certs: [], secrets: secretsSet(c.env) }),
);

documented("POST", "/config/validate", {
  operationId: "validateConfigBundle",
  summary: "Validates a proposed configuration as Quay's config editor does: a list of errors, empty when valid.",
  scope: "super:user",
  body: proposedConfig,
});
configRoutes.post("/config/validate", requireSuperuser(), async (c) => {
  const issues = checkProposed(await jsonBody(c, proposedConfig), c.env);
  return c.json(issues.map((issue) => ({ FieldGroup: issue.key, Tags: [issue.key], Message: describeIssue(issue) })));
});
