/**
 * Counts every answer of status 400 and above by surface, status and error code (the OCI code on
 * /v2, Quay's `error_type` on /api/v1, as src/app.ts onError rendered it; `none` for an answer a
 * route wrote itself), then hands the isolate's increments (these and whatever the route counted:
 * pushes, pulls, bytes) to the batched flush: they leave for the metrics' Durable Object after the
 * response, in `waitUntil`, at most every few seconds per isolate rather than once per request, so
 * no request waits on it and a pull makes no Durable Object call (src/metrics/recorder.ts).
 */
import type { Context, MiddlewareHandler } from "hono";
import { flushMetricsSoon, metrics } from "../metrics/recorder";
import type { AppEnv } from "../routes/app-env";
import { surfaceOf } from "../routes/surfaces";

export function meter(): MiddlewareHandler<AppEnv> {
  return async function metered(c, next) {
    await next();
    const status = c.res.status;
    if (status >= 400) {
      metrics.count("wharf_http_errors_total", {
        surface: surfaceOf(c.req.path) ?? "ui",
        status: String(status),
        code: c.var.errorCode ?? "none",
      });
    }
    if (metrics.pending) flushMetricsSoon(c.env, afterResponse(c));
  };
}

/** `waitUntil` when the app runs with an execution context (every request but some tests'). */
function afterResponse(c: Context<AppEnv>): { waitUntil(work: Promise<unknown>): void } {
  return {
    waitUntil(work) {
      try {
        c.executionCtx.waitUntil(work);
      } catch {
        void work;
      }
    },
  };
}
