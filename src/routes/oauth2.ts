/**
 * GET /oauth2/federation/robot/token (Quay 3.x keyless robots): Basic `<namespace>+<robot>:<OIDC
 * JWT>` → `{"token": "<robot token valid one hour>"}`. Quay answers refusals with 401 and
 * `{"error": "..."}`, so this endpoint does too (scripts read that field), and a client that must
 * wait (src/identity/login-limits.ts) 429 with Retry-After in the same shape (src/app.ts).
 */
import { Hono } from "hono";
import { readConfig } from "../config";
import type { AppEnv } from "./app-env";
import { parseBasic } from "../identity/credentials";
import { LoginGuard } from "../identity/login-limits";
import { exchangeWithinLimits } from "../identity/robot-federation";
import { clientAddressOf } from "../lib/client-address";
import { requestLogin } from "../middleware/event-scope";
import { parseRobotName, ROBOTS_DISABLED_MESSAGE } from "../identity/robots";

export const oauth2Routes = new Hono<AppEnv>();

oauth2Routes.get("/federation/robot/token", async (c) => {
  const refuse = (error: string) => c.json({ error }, 401, { "WWW-Authenticate": 'Basic realm="wharf"' });
  if (readConfig(c.env).ROBOTS_DISALLOW) return refuse(ROBOTS_DISABLED_MESSAGE);
  const credentials = parseBasic(c.req.header("Authorization"));
  if (!credentials || !parseRobotName(credentials.username))
    return refuse("Basic credentials of a robot account and an OIDC token are required");
  const guard = new LoginGuard(c.env, clientAddressOf(c.req.raw));
  const audit = requestLogin(c, "federation", { recordSuccess: true });
  const { username, password } = credentials;
  const outcome = await exchangeWithinLimits(c.var.db, c.env, guard, username, password, audit);
  return "token" in outcome ? c.json({ token: outcome.token }) : refuse(outcome.refused);
});
