/**
 * `/api/v1/superuser/metrics/tokens`: Wharf's own superuser operations on the scrape tokens of
 * `/metrics` (src/metrics/scrape-tokens.ts; Quay pushes its metrics to a Pushgateway and has none).
 * A superuser lists (no secrets), creates (the token is in that answer only) and deletes them.
 * Superusers only, as Quay's superuser endpoints (super:user and SUPER_USERS); changes need a fresh
 * login, as Quay's superuser changes, and are logged as connectors' are.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { MetricsToken } from "../../db/schema";
import { notFound } from "../../errors/domain";
import { quayDate } from "../../identity/app-tokens";
import { createScrapeToken, deleteScrapeToken, findScrapeToken, listScrapeTokens } from "../../metrics/scrape-tokens";
import { callerWith, requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { jsonBody, parseOrInvalid } from "./validate";

export const superuserMetricsRoutes = new Hono<AppEnv>();

superuserMetricsRoutes.use("/superuser/metrics/tokens", requireSuperuser());
superuserMetricsRoutes.use("/superuser/metrics/tokens/*", requireSuperuser());

const tokenView = (t: MetricsToken) => ({ uuid: t.uuid, name: t.name, created: quayDate(t.createdAt) });

documented("GET", "/superuser/metrics/tokens", {
  operationId: "listMetricsTokens",
  summary: "Lists the scrape tokens of /metrics (never the tokens themselves).",
  scope: "super:user",
});
superuserMetricsRoutes.get("/superuser/metrics/tokens", async (c) => {
  return c.json({ tokens: (await listScrapeTokens(c.var.db)).map(tokenView) });
});

const createBody = z.object({ name: z.string().trim().min(1).max(64) });

documented("POST", "/superuser/metrics/tokens", {
  operationId: "createMetricsToken",
  summary: "Creates a scrape token for /metrics; the token is in this answer only.",
  scope: "super:user",
  body: createBody,
  status: 201,
});
superuserMetricsRoutes.post("/superuser/metrics/tokens", requireFreshLogin(), async (c) => {
  const body = await jsonBody(c, createBody);
  const me = callerWith(c.var.caller, "super:user");
  const { row, token } = await createScrapeToken(c.var.db, { name: body.name, createdBy: me.id }, requestEvents(c));
  c.header("Cache-Control", "no-store");
  return c.json({ ...tokenView(row), token }, 201);
});

documented("DELETE", "/superuser/metrics/tokens/:uuid", {
  operationId: "deleteMetricsToken",
  summary: "Deletes a scrape token of /metrics; it stops working at once.",
  scope: "super:user",
  status: 204,
});
superuserMetricsRoutes.delete("/superuser/metrics/tokens/:uuid", requireFreshLogin(), async (c) => {
  const uuid = parseOrInvalid(z.string().max(64), c.req.param("uuid"));
  const row = await findScrapeToken(c.var.db, uuid);
  if (!row) throw notFound();
  await deleteScrapeToken(c.var.db, row, requestEvents(c));
  return c.body(null, 204);
});
