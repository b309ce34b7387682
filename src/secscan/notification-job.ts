/**
 * The `scan_notification` job (docs/connector.md): Clair's notifier said that vulnerabilities
 * changed for manifests it indexed (`POST /secscan/notification`, src/routes/secscan.ts); a
 * connector pages the notification from its Clair and posts the pages' entries back. As Quay's
 * security notification worker: each `added` vulnerability is told to every repository holding
 * the manifest under a tag (`vulnerability_found`; each notification's `level` filter is applied
 * when it is spawned, src/notifications/spawn.ts), and since the manifest's stored report no
 * longer says what Clair knows, the manifest is queued for a scan again.
 */
import { z } from "zod";
import type { JobContext, JobHandler, LeasedJob } from "../connector/job-kinds";
import { queueJobStatement } from "../connector/job-queue";
import { batchSql, database } from "../db/client";
import { invalid } from "../errors/domain";
import { newEvent } from "../events/catalogue";
import { systemOrigin } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { clock } from "../lib/clock";
import { namespaceOf } from "../registry/repository-name";
import { type FoundVulnerability, mostSevere, notifiedVulnerability, vulnerabilitySummarySchema } from "./clair-report";
import { holdersOf } from "./holders";

/** What one completion may carry (docs/connector.md: at most 1,000 entries). */
const notificationResult = z.object({
  notifications: z
    .array(
      z.object({
        manifest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
        reason: z.string().max(64),
        vulnerability: vulnerabilitySummarySchema,
      }),
    )
    .max(1000),
});

async function describe(job: LeasedJob) {
  return { scan_notification: { notification_id: job.subject } };
}

async function complete(_job: LeasedJob, body: unknown, ctx: JobContext): Promise<void> {
  const result = notificationResult.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(
      `notification result: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`,
    );
  }
  // Quay acts on vulnerabilities `added` to a manifest only; `removed` ones notify nobody.
  const found = new Map<string, FoundVulnerability[]>();
  for (const entry of result.data.notifications) {
    if (entry.reason !== "added") continue;
    const list = found.get(entry.manifest) ?? [];
    list.push(notifiedVulnerability(entry.vulnerability));
    found.set(entry.manifest, list);
  }
  if (found.size === 0) return;
  const db = database(ctx.env.DB);
  const nowMs = clock.now();
  const holders = await holdersOf(ctx.env, [...found.keys()], nowMs);
  const origin = systemOrigin("scanner");
  const events = holders
    .filter((holder) => holder.tags.length > 0)
    .map((holder) =>
      newEvent(
        "vulnerability_found",
        { namespace: namespaceOf(holder.repository.name), repository: holder.repository },
        origin,
        { digest: holder.digest, tags: holder.tags, vulnerabilities: mostSevere(found.get(holder.digest)!) },
        nowMs,
      ),
    );
  const rescans = [...new Map(holders.map((h) => [h.digest, h.repository.id])).entries()].map(
    ([digest, repositoryId]) => queueJobStatement(db, { kind: "scan", subject: digest, repositoryId }).getSQL(),
  );
  await batchSql(db, [...rescans, ...events.map((event) => eventStatement(db, event).getSQL())]);
  ctx.scope.publish(events);
}

/** Nothing to undo: the connector deletes the notification at Clair only once a completion is taken. */
async function fail(): Promise<void> {}

export const scanNotificationJobHandler: JobHandler = { kind: "scan_notification", describe, complete, fail };
