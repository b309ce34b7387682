/**
 * Quay's JSON of a trigger (endpoints/api/build.py `trigger_view`). Every trigger route is its
 * repository admins', so the view is the admin's: the config with Quay's `credentials` (what "View
 * Credentials" shows: the deploy key and the webhook URL, for GitHub the HMAC secret too),
 * `can_invoke`, the pull robot. A trigger's builds answer the build API's one view
 * (./build-view.ts `buildView`), as Quay's trigger.py answers `build_status_view`.
 */
import type { BuildTrigger } from "../db/schema";
import type { PublicOrigin } from "../lib/public-url";
import { repositoryUrl, robotView } from "./build-view";
import { storedConfig, type TriggerRow, webhookSecret } from "./triggers";

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** The webhook's path: Quay's `webhooks.build_trigger_webhook`. */
export const webhookPath = (uuid: string) => `/webhooks/push/trigger/${uuid}`;

/** Quay's custom trigger credentials: `[{name, value}]` as its `activate` stores them in the config. */
async function credentials(env: SecretEnv, trigger: BuildTrigger, origin: PublicOrigin) {
  const secret = await webhookSecret(env, trigger);
  const scheme = origin.origin.slice(0, origin.origin.indexOf(":"));
  const out: { name: string; value: string }[] = [];
  if (trigger.publicKey) out.push({ name: "SSH Public Key", value: trigger.publicKey });
  if (secret === null) return out;
  if (trigger.service === "custom-git") {
    // Quay's `_prepare_webhook_url`: the `$token` user and the secret in the URL's userinfo.
    out.push({
      name: "Webhook Endpoint URL",
      value: `${scheme}://$token:${secret}@${origin.host}${webhookPath(trigger.uuid)}`,
    });
  } else {
    out.push({ name: "Webhook Endpoint URL", value: `${origin.origin}${webhookPath(trigger.uuid)}` });
    out.push({ name: "Webhook Secret", value: secret });
  }
  return out;
}

/**
 * Quay's `trigger_view(trigger, can_admin=True)`; `admin: false` is its plain view (what its
 * `PUT` answers: no config, no source, not invocable).
 */
export async function triggerView(env: SecretEnv, row: TriggerRow, origin: PublicOrigin, admin = true) {
  const { trigger } = row;
  const config = storedConfig(trigger);
  const source = config.build_source;
  return {
    id: trigger.uuid,
    service: trigger.service,
    is_active: trigger.isActive,
    build_source: admin ? (source ?? null) : null,
    repository_url: admin ? repositoryUrl(trigger.service, source) : null,
    config: admin ? { ...config, credentials: await credentials(env, trigger, origin) } : {},
    can_invoke: admin,
    enabled: trigger.enabled,
    disabled_reason: trigger.disabledReason,
    ...(admin && row.pullRobot ? { pull_robot: robotView(row.pullRobot) } : {}),
  };
}
