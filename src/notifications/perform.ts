/**
 * Performing one delivery by the notification's method (Quay's `perform`): a webhook POSTs the
 * payload (or its template's body), Slack gets an incoming-webhook message, an in-app notification
 * is written for each target user. Throwing is failing: the caller counts it.
 */
import { z } from "zod";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { userNotifications } from "../db/schema";
import { splitName } from "../registry/repository-name";
import { type EventLevel, eventLevel, eventSummary } from "./events";
import type { Delivery } from "./message";
import { mailerFor } from "../mail/quay-mails";
import { applyTemplate } from "./json-template";
import { mailNotification } from "./mails";
import { findTargets, webhookUrlProblem } from "./methods";
import type { OpenNotification } from "./repository-notifications";

export interface PerformContext {
  env: Env;
  db: Db;
  config: Config;
  notification: OpenNotification;
  delivery: Delivery;
  /** POSTs JSON through the outbound guard with the notification timeout. */
  send(url: string, body: unknown): Promise<Response>;
}

/** Any 2xx is success (Quay); the body is not read, only released. */
async function expectSuccess(res: Response, what: string): Promise<void> {
  await res.body?.cancel().catch(() => {});
  if (res.status < 200 || res.status > 299) throw new Error(`${res.status} response for ${what}`);
}

/** Quay's Slack colours per event level. */
const SLACK_COLOURS: Record<EventLevel, string> = {
  info: "#ffffff",
  warning: "warning",
  error: "danger",
  success: "good",
  primary: "good",
};

/** A UUID made from a delivery and a user, so a retried delivery writes the same in-app rows once. */
async function inAppUuid(deliveryId: string, userId: number): Promise<string> {
  const bytes = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${deliveryId}/${userId}`)),
  );
  const hex = [...bytes.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const url = z.string();

export async function performMethod(ctx: PerformContext): Promise<void> {
  const { notification, delivery, config } = ctx;
  const { payload } = delivery;
  const method = notification.row.method;
  if (method === "webhook" || method === "slack") {
    const target = url.parse(notification.config.url);
    // Checked again: WEBHOOK_HOSTNAME_BLACKLIST may have grown since the notification was made.
    const problem = webhookUrlProblem(config, target);
    if (problem) throw new Error(problem);
    if (method === "webhook") {
      const template = notification.config.template;
      const body = typeof template === "string" && template !== "" ? applyTemplate(template, payload) : payload;
      return expectSuccess(await ctx.send(target, body), "webhook");
    }
    const summary = eventSummary(delivery.event, payload);
    const message = {
      text: summary,
      username: "wharf",
      attachments: [
        {
          fallback: summary,
          text: `<${String(payload.homepage)}|${String(payload.repository)}>: ${summary}`,
          color: SLACK_COLOURS[eventLevel(delivery.event, payload)],
          mrkdwn_in: ["text"],
        },
      ],
    };
    return expectSuccess(await ctx.send(target, message), "slack");
  }
  if (method === "quay_notification") {
    const [namespace] = splitName(String(payload.repository));
    const found = await findTargets(ctx.db, namespace, notification.config);
    if ("error" in found) throw new Error(found.error);
    const metadata = JSON.stringify(payload);
    for (const user of found.users) {
      await ctx.db
        .insert(userNotifications)
        .values({
          uuid: await inAppUuid(delivery.id, user.id),
          userId: user.id,
          kind: delivery.event,
          organization: found.organization,
          metadata,
        })
        .onConflictDoNothing();
    }
    return;
  }
  if (method === "email") {
    const to = notification.config.email;
    // With FEATURE_MAILING off nothing is mailed, as in Quay (whose mailer is then absent).
    const mailer = mailerFor(ctx.env, new URL(String(payload.homepage)).origin);
    if (typeof to === "string" && mailer) await mailNotification(mailer, to, delivery.event, payload);
    return;
  }
  // flowdock and hipchat: the services are gone.
  console.log(
    JSON.stringify({ msg: "notification method not delivered", method, notification: notification.row.uuid }),
  );
}
