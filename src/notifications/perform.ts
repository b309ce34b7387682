/**
 * Performing one delivery by the notification's method (Quay's `perform`): a webhook POSTs the
 * payload (or its template's body), Slack gets an incoming-webhook message, an in-app notification
 * is written for each target user, a mail is sent. The same for a repository's notification and a
 * namespace's (Quay's methods serve both): what differs is the summary, where Slack's link points,
 * and who an `email` goes to. Throwing is failing: the caller counts it.
 */
import { z } from "zod";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { userNotifications } from "../db/schema";
import { type EventLevel, eventLevel, eventSummary, type NotificationEventName } from "./events";
import type { Delivery } from "./message";
import { type Mailer, mailerFor } from "../mail/quay-mails";
import { applyTemplate } from "./json-template";
import { mailNotification } from "./mails";
import { findTargets, webhookUrlProblem } from "./methods";
import { isNamespaceEvent, namespaceEventLevel, namespaceEventSummary } from "./namespace-events";
import { namespaceAdministrators } from "./namespace-admins";

/** The notification a delivery is for, whichever kind: what performing it reads. */
export interface PerformTarget {
  uuid: string;
  method: string;
  /** The method's config, opened. */
  config: Record<string, unknown>;
}

export interface PerformContext {
  env: Env;
  db: Db;
  config: Config;
  notification: PerformTarget;
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
export async function inAppUuid(deliveryId: string, userId: number): Promise<string> {
  const bytes = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${deliveryId}/${userId}`)),
  );
  const hex = [...bytes.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const url = z.string();

/** Quay's summary and level of the delivery's event, a repository's or a namespace's. */
function describe(delivery: Delivery): { summary: string; level: EventLevel; place: string } {
  const { event, payload } = delivery;
  if (isNamespaceEvent(event))
    return {
      summary: namespaceEventSummary(event, payload),
      level: namespaceEventLevel(event),
      place: String(payload.namespace),
    };
  const repositoryEvent = event as NotificationEventName;
  return {
    summary: eventSummary(repositoryEvent, payload),
    level: eventLevel(repositoryEvent, payload),
    place: String(payload.repository),
  };
}

/**
 * Mails a namespace notification's event to the namespace's administrators (the user, or the
 * organization's admin team members), as Quay's `EmailMethod` does for a namespace.
 */
async function mailNamespace(ctx: PerformContext, mailer: Mailer) {
  const { delivery } = ctx;
  const namespace = String(delivery.payload.namespace);
  const { summary } = describe(delivery);
  for (const admin of await namespaceAdministrators(ctx.db, namespace)) {
    if (admin.email && admin.verified) await mailNotification(mailer, admin.email, summary, delivery.payload);
  }
}

export async function performMethod(ctx: PerformContext): Promise<void> {
  const { notification, delivery, config } = ctx;
  const { payload } = delivery;
  const method = notification.method;
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
    const { summary, level, place } = describe(delivery);
    const message = {
      text: summary,
      username: "wharf",
      attachments: [
        {
          fallback: summary,
          text: `<${String(payload.homepage)}|${place}>: ${summary}`,
          color: SLACK_COLOURS[level],
          mrkdwn_in: ["text"],
        },
      ],
    };
    return expectSuccess(await ctx.send(target, message), "slack");
  }
  if (method === "quay_notification") {
    // Every payload names its namespace (Quay's repository and namespace event data alike).
    const found = await findTargets(ctx.db, String(payload.namespace), notification.config);
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
    if (!mailer) return;
    if ((delivery.scope ?? "repository") === "namespace") return mailNamespace(ctx, mailer);
    if (typeof to === "string") await mailNotification(mailer, to, describe(delivery).summary, payload);
    return;
  }
  // flowdock and hipchat: the services are gone.
  console.log(JSON.stringify({ msg: "notification method not delivered", method, notification: notification.uuid }));
}
