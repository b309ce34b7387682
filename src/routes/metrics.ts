/**
 * `GET /metrics`: Wharf's metrics in Prometheus' text exposition format (src/metrics/), read from
 * the exact aggregate in the metrics' Durable Object. For superusers (a signed-in browser, or an
 * OAuth token with super:user, as /api/v1/superuser/… take them) and for the scrape tokens a
 * superuser creates (`Authorization: Bearer wharfm_…`). Anyone else: 401 without a credential or
 * with one that is no longer good, 403 for a user who is no superuser, in the plain surface's
 * `{"error"}` JSON (src/routes/surfaces.ts).
 */
import { Hono, type Context } from "hono";
import { renderExposition, EXPOSITION_CONTENT_TYPE } from "../metrics/exposition";
import { flushMetrics, metricsObject } from "../metrics/recorder";
import { isScrapeToken, SCRAPE_TOKEN_PREFIX } from "../metrics/scrape-tokens";
import { authenticateApi, requireSuperuser } from "../middleware/api-caller";
import { ApiError } from "./api/errors";
import type { AppEnv } from "./app-env";
import { plainError } from "./surfaces";

export const metricsRoutes = new Hono<AppEnv>();

const BEARER = 'Bearer realm="metrics"';

/** Null when the caller may scrape, else the refusal. */
async function refusal(c: Context<AppEnv>): Promise<Response | null> {
  const bearer = c.req.header("Authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer?.startsWith(SCRAPE_TOKEN_PREFIX)) {
    return (await isScrapeToken(c.var.db, bearer))
      ? null
      : plainError(401, "Invalid or expired token", { "WWW-Authenticate": `${BEARER}, error="invalid_token"` });
  }
  // Otherwise a superuser, checked as the superuser API checks (src/middleware/api-caller.ts).
  try {
    let allowed = false;
    await authenticateApi()(c, async () => {
      await requireSuperuser()(c, async () => {
        allowed = true;
      });
    });
    return allowed ? null : plainError(403, "Unauthorized");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const headers = err.status === 401 ? { "WWW-Authenticate": BEARER } : undefined;
    return plainError(err.status, err.message, headers);
  }
}

metricsRoutes.get("/metrics", async (c) => {
  const refused = await refusal(c);
  if (refused) {
    refused.headers.set("Cache-Control", "no-store");
    return refused;
  }
  // This isolate's own counts first, so a scrape after a request of the same isolate sees it.
  await flushMetrics(c.env);
  const snapshot = await metricsObject(c.env).read();
  return new Response(renderExposition(snapshot), {
    headers: { "Content-Type": EXPOSITION_CONTENT_TYPE, "Cache-Control": "no-store" },
  });
});
