/**
 * `GET /config` (Quay `endpoints/web.py` `config`): the public configuration the UI reads when it
 * loads: frontend-visible settings, the feature flags (Quay's names without `FEATURE_`), the
 * external login providers (id, title, icon and public client config, never a secret), and,
 * beyond Quay, whether the registry still needs its first user (FEATURE_USER_INITIALIZE's
 * `POST /api/v1/user/initialize`), so the sign-in page can offer to create it.
 */
import { Hono } from "hono";
import { readConfig } from "../config";
import { users } from "../db/schema";
import type { AppEnv } from "./app-env";

export const publicConfigRoutes = new Hono<AppEnv>();

publicConfigRoutes.get("/config", async (c) => {
  const config = readConfig(c.env);
  const origin = c.var.publicOrigin;
  const anyAccount = await c.var.db.select({ id: users.id }).from(users).limit(1).get();
  const body = {
    config: {
      REGISTRY_TITLE: config.REGISTRY_TITLE_SHORT,
      REGISTRY_TITLE_SHORT: config.REGISTRY_TITLE_SHORT,
      // The host and scheme the registry names itself by (pull commands), configured or not.
      SERVER_HOSTNAME: origin.host,
      PREFERRED_URL_SCHEME: new URL(origin.origin).protocol.replace(":", ""),
      LIBRARY_NAMESPACE: config.LIBRARY_NAMESPACE,
      ROBOTS_DISALLOW: config.ROBOTS_DISALLOW,
      TAG_EXPIRATION_OPTIONS_SECONDS: config.TAG_EXPIRATION_OPTIONS,
      FRESH_LOGIN_TIMEOUT_SECONDS: config.FRESH_LOGIN_TIMEOUT,
      DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES,
    },
    features: {
      USER_CREATION: config.FEATURE_USER_CREATION,
      USER_INITIALIZE: true,
      DIRECT_LOGIN: true,
      SUPER_USERS: true,
      MAILING: config.FEATURE_MAILING,
      ASSIGN_OAUTH_TOKEN: config.FEATURE_ASSIGN_OAUTH_TOKEN,
      IMAGE_PULL_STATS: config.FEATURE_IMAGE_PULL_STATS,
      ACTION_LOG_ROTATION: config.ACTION_LOG_ARCHIVE,
      LOG_EXPORT: config.FEATURE_LOG_EXPORT,
      AUTO_PRUNE: config.FEATURE_AUTO_PRUNE,
      REPO_MIRROR: config.FEATURE_REPO_MIRROR,
      ORG_MIRROR: config.FEATURE_ORG_MIRROR,
      QUOTA_MANAGEMENT: config.FEATURE_QUOTA_MANAGEMENT,
      QUOTA_NOTIFICATIONS: config.FEATURE_QUOTA_NOTIFICATIONS,
      LIBRARY_SUPPORT: config.FEATURE_LIBRARY_SUPPORT,
      PROXY_CACHE: config.FEATURE_PROXY_CACHE,
      PERMANENTLY_DELETE_TAGS: config.PERMANENTLY_DELETE_TAGS,
      // Issue #18: the Builds tab and the Tags tab's security column follow these, as Quay's UI does.
      BUILD_SUPPORT: config.FEATURE_BUILD_SUPPORT,
      SECURITY_SCANNER: config.FEATURE_SECURITY_SCANNER,
    },
    external_login: config.OIDC_PROVIDERS.map((p) => ({
      id: p.id,
      title: p.title,
      ...(p.icon ? { icon: p.icon } : {}),
      config: { CLIENT_ID: p.clientId, OIDC: true },
    })),
    // Quay's `registry_state` (endpoints/web.py): the UI shows its read-only banner on `readonly`.
    registry_state: config.REGISTRY_STATE,
    needs_initialization: anyAccount === undefined,
  };
  return c.json(body, 200, { "Cache-Control": "no-store" });
});
