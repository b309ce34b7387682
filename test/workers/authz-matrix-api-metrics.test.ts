/**
 * The /api/v1 authorization matrix of the scrape tokens of `/metrics` (issue #19,
 * `/superuser/metrics/tokens…`; test/workers/authz-matrix-api/harness.ts lists the callers and the
 * rule): only a superuser's token with super:user lists, creates and deletes them. A refused
 * creation or deletion changes nothing.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { metricsTokens } from "../../src/db/schema";
import { createScrapeToken } from "../../src/metrics/scrape-tokens";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { defineMatrix, fresh, type Route, SUPERUSER } from "./authz-matrix-api/harness";

const tokenNamed = (name: string) => db().select().from(metricsTokens).where(eq(metricsTokens.name, name)).get();

async function freshToken() {
  return (await createScrapeToken(db(), { name: fresh("scrape"), createdBy: null }, fixtureEvents())).row;
}

const ROUTES: Record<string, Route> = {
  "GET /superuser/metrics/tokens": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const token = await freshToken();
      const res = await send("/superuser/metrics/tokens");
      return {
        res,
        effect: async () =>
          expect((res.json.tokens as Array<{ uuid: string }>).map((t) => t.uuid)).toContain(token.uuid),
      };
    },
  },
  "POST /superuser/metrics/tokens": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 201,
    run: async ({ send }) => {
      const name = fresh("scrape");
      const res = await send("/superuser/metrics/tokens", { name });
      return {
        res,
        effect: async () => {
          expect(res.json.token).toMatch(/^wharfm_/);
          expect(await tokenNamed(name)).toBeDefined();
        },
        unchanged: async () => expect(await tokenNamed(name)).toBeUndefined(),
      };
    },
  },
  "DELETE /superuser/metrics/tokens/:uuid": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const token = await freshToken();
      const res = await send(`/superuser/metrics/tokens/${token.uuid}`);
      return {
        res,
        effect: async () => expect(await tokenNamed(token.name)).toBeUndefined(),
        unchanged: async () => expect(await tokenNamed(token.name)).toBeDefined(),
      };
    },
  },
};

defineMatrix("metrics tokens", ROUTES);
