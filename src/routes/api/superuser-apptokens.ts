/**
 * `GET /api/v1/superuser/apptokens` (Quay `endpoints/api/superuser.py`, `SuperUserAppTokens`):
 * every user's application tokens, for auditing, never their codes. Superusers only.
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireSuperuser } from "../../middleware/api-caller";
import { documented } from "./openapi";
import { truthy } from "./repositories";
import { parseOrInvalid } from "./validate";
import type { AppEnv } from "../app-env";
import { appTokenView, listAllAppTokens } from "../../identity/app-tokens";
import { clock } from "../../lib/clock";

export const superuserAppTokenRoutes = new Hono<AppEnv>();

/**
 * "Expiring soon", as Quay's: within a tenth of APP_SPECIFIC_TOKEN_EXPIRATION, or of its default
 * window of four weeks when unset. Wharf's application tokens take no expiration setting, so the
 * window is Quay's default's tenth: 2.8 days.
 */
const EXPIRING_WINDOW_MS = Math.ceil(28 * 86_400 * 0.1) * 1000;

const listQuery = z.object({ expiring: truthy });

documented("GET", "/superuser/apptokens", {
  operationId: "listAllAppTokens",
  summary: "Every user's application tokens, without their codes.",
  scope: "super:user",
  query: listQuery,
});
/** Quay's answer: `tokens` (its `token_view`, no `token_code`) and `only_expiring` as asked (null if not). */
superuserAppTokenRoutes.get("/superuser/apptokens", requireSuperuser(), async (c) => {
  const { expiring } = parseOrInvalid(listQuery, c.req.query());
  const tokens = await listAllAppTokens(c.var.db, expiring ? clock.now() + EXPIRING_WINDOW_MS : undefined);
  return c.json({ tokens: tokens.map((token) => appTokenView(token)), only_expiring: expiring ?? null });
});
