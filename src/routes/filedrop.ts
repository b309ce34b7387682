/**
 * `PUT /filedrop/{file_id}?expires=…&signature=…`: the upload URL `POST /api/v1/filedrop/` hands
 * out (src/builds/filedrop.ts), where Quay's UI PUTs the Dockerfile or build context. No session
 * or token: the signed URL is the credential, for one user's one file, an hour. A forged or
 * unknown URL is 404, an expired one 403, a second upload 400, a body over FILEDROP_MAX_BYTES 413;
 * errors are the plain surface's JSON. The body streams to R2, never whole in memory. `GET` on a
 * download link (signed apart, shown to the build's repository's writers) streams the file back.
 */
import { Hono } from "hono";
import { z } from "zod";
import { checkFiledropDownload, checkFiledropUrl, storeFiledrop } from "../builds/filedrop";
import { notFound } from "../errors/domain";
import { readConfig } from "../config";
import { invalid } from "../errors/domain";
import { parseOrInvalid } from "./api/validate";
import type { AppEnv } from "./app-env";

export const filedropRoutes = new Hono<AppEnv>();

const query = z.object({ expires: z.string().max(16), signature: z.string().max(64) });

filedropRoutes.put("/filedrop/:fileId", async (c) => {
  const { expires, signature } = parseOrInvalid(query, c.req.query());
  const row = await checkFiledropUrl(c.var.db, c.env, c.req.param("fileId"), expires, signature);
  const body = c.req.raw.body;
  if (!body) throw invalid("The upload has no body");
  const stored = await storeFiledrop(c.var.db, c.var.store, row, body, readConfig(c.env).FILEDROP_MAX_BYTES);
  return c.json({ file_id: row.uuid, size: stored.size }, 200);
});

/** `GET /filedrop/{file_id}?expires=…&signature=…`: an uploaded file, behind the link a build's view gives writers. */
filedropRoutes.get("/filedrop/:fileId", async (c) => {
  const { expires, signature } = parseOrInvalid(query, c.req.query());
  const row = await checkFiledropDownload(c.var.db, c.env, c.req.param("fileId"), expires, signature);
  const object = await c.var.store.get(row.objectKey);
  if (!object) throw notFound();
  return new Response(object.body, {
    headers: {
      "Content-Type": row.mimeType,
      "Content-Length": String(object.size),
      "Content-Disposition": `attachment; filename="${row.uuid}"`,
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "private, no-store",
    },
  });
});
