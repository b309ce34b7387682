/**
 * An attacker's review of the fair-use budgets (src/fairuse/budgets.ts, src/middleware/fair-use.ts):
 * a namespace's /api/v1 budget cannot be dodged by writing its path another way the router still
 * serves (`%2F` between namespace and repository, percent-encoded letters), and a requester's
 * budget holds its token requests at /v2/auth too (each proves a password: the costliest /v2 call).
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { apiNamespaceOf } from "../../../src/middleware/fair-use";
import { basic, makeUser, tokenFor } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { freezeClock } from "../helpers/clock";
import { BASE, pushImage } from "../helpers/registry";

const worker = createApp();

function limitedWorker(vars: Record<string, string>) {
  const limitedEnv = { ...env, ...vars };
  return async (method: string, path: string, token?: string) => {
    const waiting: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => waiting.push(p), passThroughOnException() {}, props: {} };
    const authorization = token?.startsWith("Basic ") ? token : token ? `Bearer ${token}` : null;
    const headers = new Headers(authorization ? { Authorization: authorization } : {});
    const res = await worker.fetch(
      new Request(`${BASE}${path}`, { method, headers }),
      limitedEnv,
      ctx as unknown as ExecutionContext,
    );
    await res.arrayBuffer();
    await Promise.race([Promise.all(waiting), new Promise((resolve) => setTimeout(resolve, 300))]);
    return res.status;
  };
}

const freshName = (prefix: string) => `${prefix}${crypto.randomUUID().slice(0, 8)}`;

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

beforeEach(() => {
  freezeClock();
});

describe("a namespace's /api/v1 budget, by another spelling of its path", () => {
  it("names the namespace however the path encodes it", () => {
    expect(apiNamespaceOf("/api/v1/repository/acme/app")).toBe("acme");
    expect(apiNamespaceOf("/api/v1/repository/acme%2Fapp")).toBe("acme");
    expect(apiNamespaceOf("/api/v1/repository/acme%2fapp/tag/")).toBe("acme");
    expect(apiNamespaceOf("/api/v1/repository/%61cme/app")).toBe("acme");
    expect(apiNamespaceOf("/api/v1/organization/acme%2F")).toBe("acme");
  });

  for (const spelling of ["%2F", "%2f"]) {
    it(`charges /repository/{ns}${spelling}{repo} as /repository/{ns}/{repo}`, async () => {
      const send = limitedWorker({ FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: "2" });
      const owner = freshName("dodge");
      await pushImage(`${owner}/app`, "latest");
      const token = await tokenFor(owner);
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await send("GET", `/api/v1/repository/${owner}${spelling}app`, token));
      // Served (the router decodes the name), so charged: the third answer finds the budget spent.
      expect(statuses[0]).toBe(200);
      expect(statuses).toContain(429);
    });
  }
});

describe("a requester's budget at /v2/auth", () => {
  it("holds an account's token requests, with TOOMANYREQUESTS once spent", async () => {
    const send = limitedWorker({ FAIR_USE_TOKEN_REQUESTS_PER_MINUTE: "3" });
    const user = freshName("tokens");
    const password = await makeUser(admin, user);
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        await send("GET", `/v2/auth?service=localhost&scope=repository:${user}/app:pull`, basic(user, password)),
      );
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it("holds anonymous token requests per client address", async () => {
    const send = limitedWorker({ FAIR_USE_TOKEN_REQUESTS_PER_MINUTE: "2" });
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(await send("GET", "/v2/auth?service=localhost&scope=repository:library/x:pull"));
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(429);
  });
});
