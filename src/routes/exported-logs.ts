/**
 * `GET /exportedlogs/<link>`: a log export's file (Quay's `/exportedlogs/<file>` fallback URL),
 * behind the link Wharf signed when it delivered the export (src/events/logs-export-link.ts). No
 * session or token: the link is the credential. A forged or unknown link is 404, an expired one
 * 403; neither reads the file. The file's parts are streamed from R2 one after the other.
 */
import { Hono } from "hono";
import { z } from "zod";
import { DomainError, notFound } from "../errors/domain";
import { findExport } from "../events/logs-export";
import { checkExportLink } from "../events/logs-export-link";
import { logExportPartKey } from "../storage/keys";
import type { BlobStore } from "../storage/blob-store";
import { clock } from "../lib/clock";
import { parseOrInvalid } from "./api/validate";
import type { AppEnv } from "./app-env";

export const exportedLogsRoutes = new Hono<AppEnv>();

const linkParam = z.string().max(256);

/** The parts one after the other; a part missing midway ends the stream with an error. */
function partsStream(store: BlobStore, exportId: string, parts: number): ReadableStream<Uint8Array> {
  let next = 0;
  let current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          if (next === parts) return controller.close();
          const part = await store.get(logExportPartKey(exportId, next++));
          if (!part) throw new Error(`log export ${exportId}: part ${next - 1} is missing`);
          current = part.body.getReader();
        }
        const read = await current.read();
        if (!read.done) return controller.enqueue(read.value);
        current = null;
      }
    },
    async cancel(reason) {
      await current?.cancel(reason);
    },
  });
}

exportedLogsRoutes.get("/exportedlogs/:link", async (c) => {
  const check = await checkExportLink(c.env, parseOrInvalid(linkParam, c.req.param("link")), clock.now());
  if (!check.ok) {
    if (check.why === "expired") throw new DomainError("denied", { message: "This link has expired" });
    throw notFound();
  }
  const row = await findExport(c.var.db, check.exportId);
  if (row?.state !== "done") throw notFound();
  return new Response(partsStream(c.var.store, row.id, row.parts), {
    headers: {
      "Content-Type": "application/json",
      "Content-Disposition": `attachment; filename="${row.id}.json"`,
      "Cache-Control": "private, no-store",
    },
  });
});
