/**
 * Quay's log export (endpoints/api/logs.py `exportlogs`, workers/exportactionlogsworker.py): an
 * accepted export is a `log_exports` row, written with its `export_logs_success` event, and an
 * `export_logs` job on the EVENTS queue that builds the file in bounded steps: each step reads
 * {@link PAGES_PER_STEP} pages of the same listing the logs API reads (the archive in R2 too) and
 * writes them as one part (src/storage/keys.ts `logExportPartKey`), until the window is read. The
 * file is Quay's: `{"export_id", "details": {start_time, end_time, namespace, repository},
 * "logs": [<entries as the listing shows them>, {"terminator": true}]}`. Then the job delivers it
 * (./logs-export-delivery.ts). One export runs at a time per namespace (a partial unique index):
 * another one meanwhile is refused with 409.
 */
import { and, eq, sql } from "drizzle-orm";
import { type Db, database } from "../db/client";
import { type LogExport, logExports } from "../db/schema";
import { conflict, invalid } from "../errors/domain";
import { conditionalEvent, written } from "../identity/account-events";
import { quayDate } from "../identity/app-tokens";
import { queueJob } from "../queues/jobs";
import type { BlobStore } from "../storage/blob-store";
import { logExportPartKey } from "../storage/keys";
import { readConfig } from "../config";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";
import { newEvent } from "./catalogue";
import type { LogPosition } from "./logs-archive";
import { type LogFilter, type LogWindow, logSources, lookupLogs } from "./logs-query";
import { logEntryView } from "./logs-views";
import { eventStatement, type EventScope } from "./outbox";

/**
 * Listing pages (of 20) a step reads: 200 entries, a part of about 60 KB; a page reads at most 31
 * days of the archive, one R2 list call a day, so a step stays well under a consumer's subrequests.
 */
export const PAGES_PER_STEP = 10;

/** What is exported: a namespace's logs, or a repository's. */
export interface ExportSubject {
  namespace: { id: number; name: string };
  repository: { id: number; name: string } | null;
}

export interface ExportRequest {
  window: LogWindow;
  callbackUrl: string | null;
  callbackEmail: string | null;
  /** The registry's public origin, for the link. */
  origin: string;
}

const place = (subject: ExportSubject) => ({ namespace: subject.namespace.name, repository: subject.repository });

/** Quay's refusal of a bad request (400), logged first as `export_logs_failure`, as Quay does. */
export async function refuseExport(
  db: Db,
  subject: ExportSubject,
  request: Pick<ExportRequest, "callbackUrl" | "callbackEmail">,
  error: string,
  events: EventScope,
): Promise<never> {
  const event = newEvent("export_logs_failure", place(subject), events.origin, {
    error,
    url: request.callbackUrl,
    email: request.callbackEmail,
  });
  await eventStatement(db, event).run();
  events.publish([event]);
  throw invalid(error);
}

/**
 * Accepts an export: its row and `export_logs_success` in one batch, unless the namespace has one
 * running (409); then its first step on the queue. Returns Quay's `export_id`.
 */
export async function startExport(
  env: Env,
  subject: ExportSubject,
  request: ExportRequest,
  events: EventScope,
): Promise<string> {
  const db = database(env.DB);
  const exportId = crypto.randomUUID();
  const event = newEvent("export_logs_success", place(subject), events.origin, {
    exportId,
    url: request.callbackUrl,
    email: request.callbackEmail,
  });
  const idle = sql`not exists (select 1 from log_exports where namespace_id = ${subject.namespace.id} and state = 'running')`;
  const [eventRow] = await db.batch([
    conditionalEvent(db, event, idle),
    db
      .insert(logExports)
      .select(
        sql`select ${exportId}, ${subject.namespace.id}, ${subject.namespace.name}, ${subject.repository?.id ?? null},
          ${subject.repository?.name ?? null}, ${request.window.startMs}, ${request.window.endMs},
          ${request.callbackUrl}, ${request.callbackEmail}, ${request.origin}, 'running', null, 0, ${event.at}, null
          where ${idle}`,
      )
      .onConflictDoNothing(),
  ]);
  if (!written(eventRow))
    throw conflict("An export of this namespace's logs is already running; ask again once it is delivered");
  events.publish([event]);
  await queueJob(env, { type: "export_logs", exportId, phase: "build" });
  return exportId;
}

export async function findExport(db: Db, exportId: string): Promise<LogExport | undefined> {
  return db.select().from(logExports).where(eq(logExports.id, exportId)).get();
}

/** Quay's `%m/%d/%Y` of a window's bound, as its file and callback give them. */
export function quayDay(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()}`;
}

function header(row: LogExport): string {
  const details = {
    start_time: quayDate(row.startMs),
    end_time: quayDate(row.endMs - 1),
    namespace: row.namespaceName,
    repository: row.repositoryName?.slice(row.namespaceName.length + 1) ?? null,
  };
  return `{"export_id": ${JSON.stringify(row.id)},\n "details": ${JSON.stringify(details)},\n "logs": [\n`;
}

const FOOTER = '{"terminator": true}]\n}\n';

function filterOf(row: LogExport): LogFilter {
  return row.repositoryId === null
    ? { namespaceId: row.namespaceId }
    : { repositoryId: row.repositoryId, namespaceId: row.namespaceId };
}

/**
 * One bounded step of building `exportId`'s file: the next pages as the next part. True when more
 * is left; false when the file is complete (the row is then `done`) or the export is not running.
 * A repeated step rewrites the same part: the row moves on only from the cursor it read.
 */
export async function exportStep(env: Env, store: BlobStore, exportId: string): Promise<boolean> {
  const db = database(env.DB);
  const row = await findExport(db, exportId);
  if (row?.state !== "running") return false;
  const config = readConfig(env);
  const archive = config.ACTION_LOG_ARCHIVE
    ? { store, cutoffMs: clock.now() - config.ACTION_LOG_RETENTION * 1000 }
    : undefined;
  const window = { startMs: row.startMs, endMs: row.endMs };
  let position: LogPosition | undefined = row.cursor ? (JSON.parse(row.cursor) as LogPosition) : undefined;
  const chunks: string[] = row.parts === 0 ? [header(row)] : [];
  const sources = await logSources(env, filterOf(row));
  let more = true;
  for (let page = 0; page < PAGES_PER_STEP && more; page++) {
    const found = await lookupLogs(sources, window, filterOf(row), position, archive);
    for (const entry of found.rows) chunks.push(`${JSON.stringify(await logEntryView(entry, false))},\n`);
    position = found.next;
    more = found.next !== undefined;
  }
  if (!more) chunks.push(FOOTER);
  const text = chunks.join("");
  await store.putVerified(logExportPartKey(row.id, row.parts), new TextEncoder().encode(text), await sha256Hex(text));
  await db
    .update(logExports)
    .set(
      more
        ? { cursor: JSON.stringify(position), parts: row.parts + 1 }
        : { cursor: null, parts: row.parts + 1, state: "done", finishedAt: clock.now() },
    )
    .where(and(eq(logExports.id, row.id), eq(logExports.parts, row.parts), eq(logExports.state, "running")))
    .run();
  return more;
}
