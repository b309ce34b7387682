/**
 * A `scan_notification` job (docs/connector.md): Clair's notifier told the edge a notification
 * is ready; the connector pages through it (`GET /notifier/api/v1/notification/{id}?next=…`),
 * completes with what changed, and deletes the notification at Clair only once the edge has
 * accepted it, so an edge outage never loses one.
 */
import { JobFailure, type JobRunner } from "../connector";
import { scanNotificationSpec } from "../jobs";
import { describeError, log } from "../log";
import { type ClairClient, ClairRejected, ClairUnavailable } from "./clair-client";

/** docs/connector.md: at most 1,000 notifications per completion. */
const MAX_NOTIFICATIONS = 1000;
const MAX_PAGES = 10_000;

export function notificationRunner(clair: ClairClient): JobRunner {
  return async (job, run) => {
    const parsed = scanNotificationSpec.safeParse(job.scan_notification);
    if (!parsed.success) throw new JobFailure(`the notification job could not be read: ${parsed.error.message}`, false);
    const id = parsed.data.notification_id;
    const found: { manifest: string; reason: string; vulnerability: Record<string, unknown> }[] = [];
    try {
      let next: string | null = null;
      const seen = new Set<string>();
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await clair.notificationPage(id, next, run.signal);
        if (!answer) break; // Clair no longer has it (already handled and deleted)
        for (const n of answer.notifications)
          found.push({ manifest: n.manifest, reason: n.reason, vulnerability: n.vulnerability });
        next = answer.page.next ?? null;
        // Clair's last page says next "-1" (or nothing); a repeated token would loop for ever.
        if (!next || next === "-1" || seen.has(next)) break;
        seen.add(next);
      }
    } catch (err) {
      if (err instanceof ClairUnavailable || err instanceof ClairRejected) throw new JobFailure(err.message, true);
      throw err;
    }
    // Additions are what Quay notifies of; they go first when the cap bites.
    found.sort((a, b) => Number(b.reason === "added") - Number(a.reason === "added"));
    if (found.length > MAX_NOTIFICATIONS)
      log(`notification ${id}: ${found.length} changes, only the first ${MAX_NOTIFICATIONS} are reported`);
    return {
      result: { notifications: found.slice(0, MAX_NOTIFICATIONS) },
      afterComplete: async () => {
        await clair.deleteNotification(id).catch((err) => {
          log(`notification ${id}: could not be deleted at Clair: ${describeError(err)}`);
        });
      },
    };
  };
}
