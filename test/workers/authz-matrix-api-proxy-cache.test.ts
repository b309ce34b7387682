/**
 * The /api/v1 authorization matrix, proxy cache: `/organization/{org}/proxycache` and
 * `…/validateproxycache`, on the Worker with FEATURE_PROXY_CACHE on, against every kind of caller
 * (test/workers/authz-matrix-api/harness.ts lists them and the rule).
 *
 * - Reading the configuration: the organization's members (Quay's OrganizationMemberPermission).
 * - Creating, deleting, validating: its admins (AdministerOrganizationPermission), with org:admin.
 * - Anyone else 403, whether or not the organization exists; superusers are not its admins.
 */
import { expect } from "vitest";
import { env } from "cloudflare:workers";
import { findOrganization } from "../../src/identity/organizations";
import { createProxyCache, deleteProxyCache } from "../../src/proxy/config";
import { findProxyCache } from "../../src/proxy/lookup";
import { db } from "./helpers/accounts";
import { fixtureEvents } from "./helpers/events";
import { FakeUpstream } from "./helpers/proxy-cache";
import { defineMatrix, ORG, ORG_ADMIN, ORG_MEMBERS, type Route } from "./authz-matrix-api/harness";

const workerEnv = { ...env, FEATURE_PROXY_CACHE: "true" } as unknown as Env;
const body = {
  upstream_registry: "upstream.test/mirror",
  upstream_registry_username: "u",
  upstream_registry_password: "p",
};

const configured = () => findProxyCache(db(), ORG);
const org = async () => (await findOrganization(db(), ORG))!;
async function configure(): Promise<void> {
  if (await configured()) return;
  const input = {
    upstreamRegistry: "upstream.test/mirror",
    username: null,
    password: null,
    expirationS: 60,
    insecure: false,
  };
  await createProxyCache({ db: db(), core: db() }, workerEnv, await org(), input, fixtureEvents());
}
async function unconfigure(): Promise<void> {
  if (await configured()) await deleteProxyCache(db(), await org(), fixtureEvents());
}

const table: Record<string, Route> = {
  "GET /organization/:orgname/proxycache": {
    scope: "org:admin",
    allow: ORG_MEMBERS,
    ok: 200,
    run: async ({ send }) => {
      await configure();
      const res = await send(`/organization/${ORG}/proxycache`);
      return {
        res,
        effect: async () =>
          expect(res.json).toEqual({ upstream_registry: "upstream.test/mirror", expiration_s: 60, insecure: false }),
      };
    },
  },
  "POST /organization/:orgname/proxycache": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 201,
    run: async ({ send }) => {
      await unconfigure();
      const res = await send(`/organization/${ORG}/proxycache`, body);
      return {
        res,
        effect: async () => {
          expect((await configured())?.upstreamRegistry).toBe("upstream.test/mirror");
          await unconfigure();
        },
        unchanged: async () => expect(await configured()).toBeUndefined(),
      };
    },
  },
  "DELETE /organization/:orgname/proxycache": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 201,
    run: async ({ send }) => {
      await configure();
      const res = await send(`/organization/${ORG}/proxycache`);
      return {
        res,
        effect: async () => expect(await configured()).toBeUndefined(),
        unchanged: async () => expect(await configured()).toBeDefined(),
      };
    },
  },
  "POST /organization/:orgname/validateproxycache": {
    scope: "org:admin",
    allow: ORG_ADMIN,
    ok: 202,
    run: async ({ send }) => {
      const upstream = new FakeUpstream();
      const uninstall = upstream.install();
      try {
        const res = await send(`/organization/${ORG}/validateproxycache`, body);
        return {
          res,
          effect: async () => {
            expect(res.json).toBe("Valid");
            expect(upstream.calls).toEqual(["ping"]);
          },
          unchanged: async () => expect(upstream.calls).toEqual([]),
        };
      } finally {
        uninstall();
      }
    },
  },
};

// Every route on the Worker with FEATURE_PROXY_CACHE on (wrangler.toml keeps it off, as Quay).
for (const route of Object.values(table)) route.env = workerEnv;
defineMatrix("proxy-cache", table);
