/**
 * `POST /webhooks/push/trigger/{trigger_uuid}` (and Quay's `/webhooks/push/{repository}/trigger/
 * {trigger_uuid}`, whose repository part Quay ignores too): a git server or GitHub tells of a push
 * (Quay's endpoints/webhooks.py `build_trigger_webhook`). Quay's answers: 404 for an unknown
 * trigger, 403 without the trigger's credentials (or before it is activated: Quay's inactive
 * trigger has no token to present), 503 for a repository in read-only or mirror mode, 400 for a
 * payload that does not parse or a disabled trigger, else 200 `Okay`, whether a build was queued
 * or the push skipped (a `[skip build]` commit, a ref the regex refuses, GitHub's `ping`).
 */
import { type Context, Hono } from "hono";
import { readConfig } from "../config";
import { DomainError } from "../errors/domain";
import { queueTriggerBuild, TriggerDisabled } from "../builds/trigger-builds";
import {
  customMetadata,
  githubPayload,
  githubPushMetadata,
  InvalidPayload,
  parsePayload,
  SkippedPush,
} from "../builds/trigger-payloads";
import { skipReason } from "../builds/trigger-rules";
import { customWebhookAuthorized, githubSignatureValid } from "../builds/trigger-webhooks";
import { storedConfig, webhookTrigger } from "../builds/triggers";
import { readBounded } from "../lib/http";
import { requestEvents } from "../middleware/event-scope";
import type { AppEnv } from "./app-env";
import { plainError } from "./surfaces";

export const webhookRoutes = new Hono<AppEnv>();

/** A push's body is small JSON (GitHub caps deliveries at 25 MB, but a push's own is kilobytes). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const okay = (c: Context<AppEnv>) => c.text("Okay", 200);

async function triggerWebhook(c: Context<AppEnv>): Promise<Response> {
  if (!readConfig(c.env).FEATURE_BUILD_SUPPORT) return plainError(404, "Not Found");
  const uuid = c.req.param("uuid") ?? "";
  // Quay: "letting an attacker know that a trigger UUID is valid doesn't leak anything".
  const row = UUID.test(uuid) ? await webhookTrigger(c.var.db, uuid) : undefined;
  if (!row) return plainError(404, "Not Found");
  const { trigger, repository } = row;
  const forbidden = () => plainError(403, "Invalid credentials for this build trigger");
  const custom = trigger.service === "custom-git";
  if (custom && !(await customWebhookAuthorized(c.env, trigger, c.req.header("Authorization")))) return forbidden();
  const body = await readBounded(
    c.req.raw,
    MAX_PAYLOAD_BYTES,
    () => new DomainError("too_large", { message: "Payload too large" }),
  );
  if (!custom && !(await githubSignatureValid(c.env, trigger, c.req.header("X-Hub-Signature-256"), body)))
    return forbidden();
  // GitHub's other deliveries (`ping` when the hook is made, any other event it was set to send)
  // build nothing; a signed ping is answered before activation too, as the hook is made by hand.
  if (!custom && c.req.header("X-GitHub-Event") !== "push") return okay(c);
  if (!trigger.isActive) return plainError(403, "This build trigger is not active");
  if (repository.kind !== "image")
    return plainError(501, "Build triggers cannot be invoked on application repositories");
  if (repository.state !== "NORMAL") return plainError(503, "Repository is currently in read only or mirror mode");
  if (custom && !/^application\/json\b/i.test(c.req.header("Content-Type") ?? ""))
    return plainError(400, "Invalid payload: the request needs Content-Type: application/json");
  const config = storedConfig(trigger);
  try {
    const contentType = c.req.header("Content-Type") ?? "";
    const metadata = custom
      ? customMetadata(parsePayload(body), config.build_source ?? "")
      : githubPushMetadata(githubPayload(body, contentType));
    if (skipReason(config, metadata) !== null) return okay(c);
    await queueTriggerBuild(c.var.db, requestEvents(c), repository, row, metadata, null);
    return okay(c);
  } catch (err) {
    if (err instanceof SkippedPush) return okay(c);
    if (err instanceof InvalidPayload) return plainError(400, err.message);
    if (err instanceof TriggerDisabled)
      return plainError(400, "This build trigger is currently disabled. Please re-enable to continue.");
    throw err;
  }
}

webhookRoutes.post("/webhooks/push/trigger/:uuid", triggerWebhook);
webhookRoutes.post("/webhooks/push/:repository{.+}/trigger/:uuid", triggerWebhook);
