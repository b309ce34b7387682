/**
 * Quay's JSON of a trigger (endpoints/api/build.py `trigger_view`) and, for a trigger's recent
 * builds, of a build (`build_status_view`, the fields the trigger routes answer; the build API's own
 * view is src/builds' build part). Every trigger route is its repository admins', so the view is
 * the admin's: the config with Quay's `credentials` (what "View Credentials" shows: the deploy key
 * and the webhook URL, for GitHub the HMAC secret too), `can_invoke`, the pull robot.
 */
import type { BuildTrigger, RepositoryBuild } from "../db/schema";
import { quayDate } from "../identity/app-tokens";
import type { PublicOrigin } from "../lib/public-url";
import type { BuildJobConfig } from "./queue";
import { storedConfig, type TriggerRow, webhookSecret } from "./triggers";

type SecretEnv = { WHARF_SECRET_KEY?: string };

const robotView = (name: string) => ({ name, kind: "user", is_robot: true });

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

function repositoryUrl(trigger: BuildTrigger, source: string | undefined): string | null {
  if (!source || trigger.service !== "github") return null;
  return `https://github.com/${source}`;
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
    repository_url: admin ? repositoryUrl(trigger, source) : null,
    config: admin ? { ...config, credentials: await credentials(env, trigger, origin) } : {},
    can_invoke: admin,
    enabled: trigger.enabled,
    disabled_reason: trigger.disabledReason,
    ...(admin && row.pullRobot ? { pull_robot: robotView(row.pullRobot) } : {}),
  };
}

function jobConfigOf(build: RepositoryBuild): Partial<BuildJobConfig> {
  try {
    return JSON.parse(build.jobConfig) as Partial<BuildJobConfig>;
  } catch {
    return {};
  }
}

/**
 * Quay's `build_status_view` as a repository admin sees it, for a build of `trigger` (the trigger
 * routes' callers are admins: `is_writer` and the metadata are theirs).
 */
export function triggerBuildView(
  build: RepositoryBuild,
  pullRobot: string | null,
  trigger: BuildTrigger,
  repositoryName: string,
) {
  const job = jobConfigOf(build);
  const slash = repositoryName.indexOf("/");
  const source = storedConfig(trigger).build_source;
  return {
    id: build.uuid,
    phase: build.phase,
    started: quayDate(build.startedAt),
    display_name: build.displayName,
    status: {},
    subdirectory: job.build_subdir ?? "",
    dockerfile_path: job.dockerfile_path ?? job.build_subdir ?? "",
    context: job.context ?? "",
    tags: job.docker_tags ?? [],
    manual_user: job.manual_user ?? null,
    is_writer: true,
    trigger: {
      id: trigger.uuid,
      service: trigger.service,
      is_active: trigger.isActive,
      build_source: source ?? null,
      repository_url: repositoryUrl(trigger, source),
      config: storedConfig(trigger),
      can_invoke: true,
      enabled: trigger.enabled,
      disabled_reason: trigger.disabledReason,
    },
    trigger_metadata: job.trigger_metadata ?? null,
    resource_key: build.resourceKey,
    pull_robot: pullRobot ? robotView(pullRobot) : null,
    repository: { namespace: repositoryName.slice(0, slash), name: repositoryName.slice(slash + 1) },
    error: build.error,
  };
}
