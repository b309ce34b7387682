/**
 * The /api/v1 authorization matrix of Wharf's origin connectors (issue #18,
 * `/superuser/connectors…`; test/workers/authz-matrix-api/harness.ts lists the callers and the
 * rule): only a superuser's token with super:user lists, creates and deletes connectors and reads
 * their queue. A refused creation or deletion changes nothing.
 */
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { createConnector } from "../../src/connector/connectors";
import { queueJobStatement } from "../../src/connector/job-queue";
import { connectors } from "../../src/db/schema";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { defineMatrix, fresh, type Route, SUPERUSER } from "./authz-matrix-api/harness";

const connectorNamed = (name: string) => db().select().from(connectors).where(eq(connectors.name, name)).get();

async function freshConnector() {
  const name = fresh("conn");
  return (await createConnector(db(), { name, kinds: ["build"], createdBy: null }, fixtureEvents())).connector;
}

const ROUTES: Record<string, Route> = {
  "GET /superuser/connectors": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const connector = await freshConnector();
      const res = await send("/superuser/connectors");
      return {
        res,
        effect: async () =>
          expect((res.json.connectors as Array<{ uuid: string }>).map((c) => c.uuid)).toContain(connector.uuid),
      };
    },
  },
  "POST /superuser/connectors": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 201,
    run: async ({ send }) => {
      const name = fresh("conn");
      const res = await send("/superuser/connectors", { name, kinds: ["build", "scan"] });
      return {
        res,
        effect: async () => {
          expect(res.json.token).toMatch(/^wharfc_/);
          expect(await connectorNamed(name)).toBeDefined();
        },
        unchanged: async () => expect(await connectorNamed(name)).toBeUndefined(),
      };
    },
  },
  "GET /superuser/connectors/jobs": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const subject = crypto.randomUUID();
      await queueJobStatement(db(), { kind: "scan", subject, repositoryId: null });
      const res = await send("/superuser/connectors/jobs?kind=scan");
      return {
        res,
        effect: async () =>
          expect((res.json.jobs as Array<{ subject: string }>).map((j) => j.subject)).toContain(subject),
      };
    },
  },
  "DELETE /superuser/connectors/:uuid": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const connector = await freshConnector();
      const res = await send(`/superuser/connectors/${connector.uuid}`);
      return {
        res,
        effect: async () => expect(await connectorNamed(connector.name)).toBeUndefined(),
        unchanged: async () => expect(await connectorNamed(connector.name)).toBeDefined(),
      };
    },
  },
};

defineMatrix("connectors", ROUTES);
