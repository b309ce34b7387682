/**
 * The /api/v1 authorization matrix of the superuser's fair-use overrides (issue #19,
 * `/superuser/organizations/{name}/fairuse`; test/workers/authz-matrix-api/harness.ts lists the
 * callers and the rule): only a superuser's token with super:user reads, sets and removes an
 * organization's override. A refused change changes nothing.
 */
import { expect } from "vitest";
import { createOrganization } from "../../src/identity/organizations";
import { findOrganization } from "../../src/identity/organizations";
import { findOverride, setOverride } from "../../src/fairuse/override-changes";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { account, defineMatrix, fresh, type Route, SUPERUSER } from "./authz-matrix-api/harness";

async function organizationWithOverride(): Promise<string> {
  const name = fresh("org");
  await createOrganization(db(), await account("outsider"), { name, email: null }, fixtureEvents());
  const org = (await findOrganization(db(), name))!;
  await setOverride(db(), org, { requestsPerMinute: 100, pullBytesPerHour: null }, fixtureEvents());
  return name;
}

const overrideOf = async (name: string) => findOverride(db(), (await findOrganization(db(), name))!);

const ROUTES: Record<string, Route> = {
  "GET /superuser/organizations/:name/fairuse": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const name = await organizationWithOverride();
      const res = await send(`/superuser/organizations/${name}/fairuse`);
      return { res, effect: async () => expect(res.json).toMatchObject({ name, requests_per_minute: 100 }) };
    },
  },
  "PUT /superuser/organizations/:name/fairuse": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const name = await organizationWithOverride();
      const res = await send(`/superuser/organizations/${name}/fairuse`, { requests_per_minute: 7 });
      return {
        res,
        effect: async () => expect(await overrideOf(name)).toMatchObject({ requestsPerMinute: 7 }),
        unchanged: async () => expect(await overrideOf(name)).toMatchObject({ requestsPerMinute: 100 }),
      };
    },
  },
  "DELETE /superuser/organizations/:name/fairuse": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const name = await organizationWithOverride();
      const res = await send(`/superuser/organizations/${name}/fairuse`);
      return {
        res,
        effect: async () => expect(await overrideOf(name)).toBeNull(),
        unchanged: async () => expect(await overrideOf(name)).not.toBeNull(),
      };
    },
  },
};

defineMatrix("fairuse", ROUTES);
