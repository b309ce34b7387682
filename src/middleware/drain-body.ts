/**
 * Answers only after the request's body has been read (issue #12): a refusal decided before the
 * body was needed (401, 404, 416, 413 …) first reads and discards what is left of it, at most
 * DRAIN_LIMIT bytes, so that the client finishes writing and reads the answer instead of meeting
 * a closed connection (src/lib/request-body.ts says why workerd would close it).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../routes/app-env";
import { contentLength } from "../lib/http";
import { DRAIN_LIMIT, drainBody } from "../lib/request-body";

export function drainUnreadBody(): MiddlewareHandler<AppEnv> {
  return async function drainBeforeAnswer(c, next) {
    await next();
    const body = c.req.raw.body;
    // A body handed on (to a Durable Object, to R2) is locked or already read; the Durable Object
    // drains what it refuses itself (UploadSessionDO).
    if (!body || body.locked) return;
    const declared = contentLength(c.req.header("Content-Length"));
    // Reading more than the limit for nothing would cost more than the closed connection does.
    if (declared !== null && declared > DRAIN_LIMIT) return;
    await drainBody(body);
  };
}
