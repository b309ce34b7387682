/**
 * Delivering a log export (Quay's exportactionlogsworker `_report_results`) and its housekeeping.
 * Once the file is built (./logs-export.ts), a `callback_url` gets Quay's JSON `{export_id,
 * start_time, end_time, namespace, repository, exported_data_url, status}` by POST through the
 * outbound guard (a refused address is logged and skipped, as Quay skips a URL its SSRF check
 * refuses; another failure or a non-2xx answer is retried as the queue retries), and a
 * `callback_email` a mail with the link. The link is Wharf's own, signed and good for an hour
 * (./logs-export-link.ts), served by `GET /exportedlogs/<link>` (src/routes/exported-logs.ts).
 *
 * On the Cron Trigger: an export still running after {@link EXPORT_MAX_RUNNING_MS} (Quay's
 * EXPORT_ACTION_LOGS_MAXIMUM_SECONDS, two hours; its steps kept failing) is failed and reported
 * so, which frees its namespace; an export older than {@link EXPORT_KEPT_MS} leaves with its files.
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import { type Db, database } from "../db/client";
import { type LogExport, logExports } from "../db/schema";
import { mailerFor, mailLogsExported } from "../mail/quay-mails";
import { queueJob } from "../queues/jobs";
import type { BlobStore } from "../storage/blob-store";
import { logExportPartKey } from "../storage/keys";
import { clock } from "../lib/clock";
import { guardedFetch, OutboundError } from "../lib/outbound";
import { EXPORT_LINK_SECONDS, signExportLink } from "./logs-export-link";
import { findExport, quayDay } from "./logs-export";

export const EXPORT_MAX_RUNNING_MS = 2 * 3600_000;
/** A day: the link is good for an hour from its delivery, and a delivery may be retried a while. */
export const EXPORT_KEPT_MS = 24 * 3600_000;
/** Exports the cron fails or removes a tick, each. */
const SWEEP_ROWS = 50;
const DAY_MS = 86_400_000;

/** The link's path (after the origin) of a built export, good for an hour from `nowMs`. */
export async function exportLinkPath(env: Env, exportId: string, nowMs: number): Promise<string> {
  return `/exportedlogs/${await signExportLink(env, exportId, nowMs)}`;
}

/** Quay's callback JSON. */
function callbackBody(row: LogExport, url: string | null) {
  return {
    export_id: row.id,
    start_time: quayDay(row.startMs),
    end_time: quayDay(row.endMs - DAY_MS),
    namespace: row.namespaceName,
    repository: row.repositoryName?.slice(row.namespaceName.length + 1) ?? null,
    exported_data_url: url,
    status: row.state === "done" ? "success" : "failed",
  };
}

async function postCallback(env: Env, row: LogExport, target: string, url: string | null): Promise<void> {
  let res: Response;
  try {
    res = await guardedFetch(env, target, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(callbackBody(row, url)),
    });
  } catch (err) {
    if (err instanceof OutboundError && err.kind === "refused") {
      console.warn(JSON.stringify({ msg: "export callback refused", exportId: row.id, why: err.message }));
      return;
    }
    throw err;
  }
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) throw new Error(`export callback answered ${res.status}; retried`);
}

/** Reports a finished export to its callback URL and e-mail. Throws to be retried. */
export async function deliverExport(env: Env, exportId: string): Promise<void> {
  const row = await findExport(database(env.DB), exportId);
  if (!row || row.state === "running") return;
  const url = row.state === "done" ? `${row.origin}${await exportLinkPath(env, row.id, clock.now())}` : null;
  if (row.callbackUrl) await postCallback(env, row, row.callbackUrl, url);
  const mailer = row.callbackEmail ? mailerFor(env, row.origin) : null;
  if (mailer && row.callbackEmail)
    await mailLogsExported(mailer, {
      to: row.callbackEmail,
      exportId: row.id,
      url,
      lifetimeMinutes: EXPORT_LINK_SECONDS / 60,
    });
}

/** The cron's housekeeping of exports (see the module's comment). */
export async function sweepLogExports(env: Env, store: BlobStore, nowMs: number) {
  const db: Db = database(env.DB);
  const stuck = await db
    .update(logExports)
    .set({ state: "failed", finishedAt: nowMs })
    .where(and(eq(logExports.state, "running"), lt(logExports.createdAt, nowMs - EXPORT_MAX_RUNNING_MS)))
    .returning({ id: logExports.id })
    .all();
  for (const { id } of stuck) await queueJob(env, { type: "export_logs", exportId: id, phase: "deliver" });
  const old = await db
    .select({ id: logExports.id, parts: logExports.parts })
    .from(logExports)
    .where(and(inArray(logExports.state, ["done", "failed"]), lt(logExports.createdAt, nowMs - EXPORT_KEPT_MS)))
    .limit(SWEEP_ROWS)
    .all();
  for (const row of old) {
    await store.delete(Array.from({ length: row.parts }, (_, n) => logExportPartKey(row.id, n)));
    await db.delete(logExports).where(eq(logExports.id, row.id)).run();
  }
  return { failed: stuck.length, removed: old.length };
}
