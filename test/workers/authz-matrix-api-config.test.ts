/**
 * The /api/v1 authorization matrix of the registry's configuration (issue #19,
 * `/superuser/config…` and the config editor's `/config…`; test/workers/authz-matrix-api/harness.ts
 * lists the callers and the rule): only a superuser's token with super:user reads the
 * configuration or validates a proposed one. Nothing changes either way: a Worker's configuration
 * changes only by deploy, so each call also checks that the Worker's configuration is as before.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { readConfig } from "../../src/config";
import { defineMatrix, type Route, SUPERUSER } from "./authz-matrix-api/harness";

const unchanged = async () =>
  expect(readConfig(env).TAG_EXPIRATION_OPTIONS).toEqual([0, 86_400, 604_800, 1_209_600, 2_419_200]);

const ROUTES: Record<string, Route> = {
  "GET /superuser/config": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/superuser/config");
      return {
        res,
        effect: async () => {
          expect(res.json.config.REGISTRY_STATE).toBe("normal");
          expect(res.json.secrets.WHARF_TOKEN_KEY).toBe(true);
        },
        unchanged,
      };
    },
  },
  "POST /superuser/config/validate": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/superuser/config/validate", { config: { TAG_EXPIRATION_OPTIONS: "1d,2x" } });
      return {
        res,
        effect: async () => {
          expect(res.json.status).toBe(false);
          await unchanged();
        },
        unchanged,
      };
    },
  },
  "GET /config": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/config");
      return {
        res,
        effect: async () => expect(res.json["config.yaml"].REGISTRY_STATE).toBe("normal"),
        unchanged,
      };
    },
  },
  "POST /config/validate": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/config/validate", { REGISTRY_STATE: "readonly" });
      return {
        res,
        effect: async () => {
          expect(res.json).toEqual([]);
          expect(readConfig(env).REGISTRY_STATE).toBe("normal");
        },
        unchanged,
      };
    },
  },
};

defineMatrix("config", ROUTES);
