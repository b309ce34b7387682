/**
 * The /api/v1 authorization matrix of the superuser's registry-wide operations (issue #14):
 * organizations (list, rename, delete, take ownership), global messages, the registry's size and
 * every application token (test/workers/authz-matrix-api/harness.ts lists the callers and the
 * rule). `/superuser/…` and posting or deleting a message: only a superuser's token with
 * super:user; reading the messages: anyone, anonymous included, as in Quay.
 * Each row acts on a fresh organization, never on `acme`: the superuser must stay outside it for
 * the other tables.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { globalMessages, registrySize } from "../../src/db/schema";
import { createAppToken } from "../../src/identity/app-tokens";
import { createOrganization, organizationRole } from "../../src/identity/organizations";
import { createGlobalMessage } from "../../src/registry/global-messages";
import { findUser } from "../../src/identity/users";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { account, ANYONE, defineMatrix, fresh, SUPERUSER, type Route } from "./authz-matrix-api/harness";

/** A new organization owned by `outsider`. */
async function freshOrganization(): Promise<string> {
  const name = fresh("org");
  await createOrganization(db(), await account("outsider"), { name, email: null }, fixtureEvents());
  return name;
}

const messageExists = async (uuid: string) =>
  (await db().select().from(globalMessages).where(eq(globalMessages.uuid, uuid)).get()) !== undefined;

const ROUTES: Record<string, Route> = {
  "GET /superuser/organizations": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/superuser/organizations");
      return {
        res,
        effect: async () =>
          expect((res.json.organizations as Array<{ name: string }>).map((o) => o.name)).toContain("acme"),
      };
    },
  },
  "PUT /superuser/organizations/:name": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const name = await freshOrganization();
      const renamed = fresh("renamed");
      const res = await send(`/superuser/organizations/${name}`, { name: renamed });
      return {
        res,
        effect: async () => expect(await findUser(db(), renamed)).toMatchObject({ kind: "organization" }),
        unchanged: async () => {
          expect(await findUser(db(), name)).toBeDefined();
          expect(await findUser(db(), renamed)).toBeUndefined();
        },
      };
    },
  },
  "DELETE /superuser/organizations/:name": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const name = await freshOrganization();
      const res = await send(`/superuser/organizations/${name}`);
      const deleting = async () => (await findUser(db(), name))?.deletingSince !== null;
      return {
        res,
        effect: async () => expect(await deleting()).toBe(true),
        unchanged: async () => expect(await deleting()).toBe(false),
      };
    },
  },
  "POST /superuser/takeownership/:namespace": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const name = await freshOrganization();
      const res = await send(`/superuser/takeownership/${name}`);
      const adminRole = async () => organizationRole(db(), (await account("admin")).id, name);
      return {
        res,
        effect: async () => expect(await adminRole()).toBe("admin"),
        unchanged: async () => expect(await adminRole()).toBeNull(),
      };
    },
  },

  "GET /superuser/apptokens": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const { token } = await createAppToken(db(), env, await account("outsider"), fresh("t"), fixtureEvents());
      const res = await send("/superuser/apptokens");
      return {
        res,
        effect: async () => {
          expect((res.json.tokens as Array<{ uuid: string }>).map((t) => t.uuid)).toContain(token.uuid);
          for (const listed of res.json.tokens) expect(listed).not.toHaveProperty("token_code");
        },
      };
    },
  },

  "GET /superuser/registrysize": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 200,
    run: async ({ send }) => {
      const res = await send("/superuser/registrysize");
      return { res, effect: async () => expect(res.json).toHaveProperty("size_bytes") };
    },
  },
  "POST /superuser/registrysize": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 201,
    run: async ({ send }) => {
      // Idle before each cell, so the superuser's call queues one (201) and refusals queue none.
      await db().delete(registrySize);
      const res = await send("/superuser/registrysize");
      const queued = async () => (await db().select().from(registrySize).get())?.queued ?? false;
      return {
        res,
        effect: async () => expect(await queued()).toBe(true),
        unchanged: async () => expect(await queued()).toBe(false),
      };
    },
  },

  // Global messages.
  "GET /messages": {
    scope: null,
    allow: ANYONE,
    ok: 200,
    run: async ({ send }) => {
      const { uuid } = await createGlobalMessage(db(), { content: "hello", mediaType: "text/plain", severity: "info" });
      const res = await send("/messages");
      return {
        res,
        effect: async () => expect((res.json.messages as Array<{ uuid: string }>).map((m) => m.uuid)).toContain(uuid),
      };
    },
  },
  "POST /messages": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 201,
    run: async ({ send }) => {
      const content = fresh("message");
      const res = await send("/messages", { message: { content, media_type: "text/plain", severity: "info" } });
      const posted = async () =>
        (await db().select().from(globalMessages).where(eq(globalMessages.content, content)).get()) !== undefined;
      return {
        res,
        effect: async () => expect(await posted()).toBe(true),
        unchanged: async () => expect(await posted()).toBe(false),
      };
    },
  },
  "DELETE /message/:uuid": {
    scope: "super:user",
    allow: SUPERUSER,
    ok: 204,
    run: async ({ send }) => {
      const { uuid } = await createGlobalMessage(db(), { content: "bye", mediaType: "text/plain", severity: "info" });
      const res = await send(`/message/${uuid}`);
      return {
        res,
        effect: async () => expect(await messageExists(uuid)).toBe(false),
        unchanged: async () => expect(await messageExists(uuid)).toBe(true),
      };
    },
  },
};

defineMatrix("superuser", ROUTES);
