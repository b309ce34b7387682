/**
 * GET /oauth2/federation/robot/token (Quay 3.x keyless robots): Basic `<namespace>+<robot>:<OIDC
 * JWT>` → `{"token": "<robot token valid one hour>"}`. Quay answers refusals with 401 and
 * `{"error": "..."}`, so this endpoint does too (scripts read that field).
 */
import { Hono } from "hono";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { parseBasic } from "../identity/credentials";
import { exchangeFederatedToken, FederationRefused } from "../identity/robot-federation";
import { parseRobotName, ROBOTS_DISABLED_MESSAGE } from "../identity/robots";

export const oauth2Routes = new Hono<AppEnv>();

oauth2Routes.get("/federation/robot/token", async (c) => {
  const refuse = (error: string) => c.json({ error }, 401, { "WWW-Authenticate": 'Basic realm="wharf"' });
  if (readConfig(c.env).ROBOTS_DISALLOW) return refuse(ROBOTS_DISABLED_MESSAGE);
  const credentials = parseBasic(c.req.header("Authorization"));
  if (!credentials || !parseRobotName(credentials.username)) return refuse("Basic credentials of a robot account and an OIDC token are required");
  try {
    return c.json({ token: await exchangeFederatedToken(c.var.db, c.env, credentials.username, credentials.password) });
  } catch (err) {
    if (err instanceof FederationRefused) return refuse(err.message);
    throw err;
  }
});
