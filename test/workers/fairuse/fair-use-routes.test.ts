/**
 * Fair use through the whole Worker (src/fairuse/budgets.ts): /v2 answers a spent budget with 429
 * TOOMANYREQUESTS and Retry-After, /api/v1 with Quay's error JSON; a namespace's budget spares
 * its neighbours; anonymous requests count per client address; blob GETs are refused before any
 * byte is sent once the bandwidth budget is spent; superusers are never limited; a superuser's
 * override of an organization applies at once and is logged. The clock is frozen: buckets refill
 * only when a test moves it.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { advanceClock, freezeClock } from "../helpers/clock";
import { loggedEntry } from "../helpers/action-logs";
import { BASE, pushImage, registryToken, subjectNamed } from "../helpers/registry";

const worker = createApp();
let admin: string;

/** A Worker whose configuration adds `vars` (the suite's otherwise has every budget off). */
function limitedWorker(vars: Record<string, string>) {
  const limitedEnv = { ...env, ...vars };
  return async (
    method: string,
    path: string,
    init: { token?: string; headers?: Record<string, string>; body?: string } = {},
  ) => {
    const waiting: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => waiting.push(p), passThroughOnException() {}, props: {} };
    const headers = new Headers(init.headers);
    if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
    const res = await worker.fetch(
      new Request(`${BASE}${path}`, { method, headers, body: init.body }),
      limitedEnv,
      ctx as unknown as ExecutionContext,
    );
    const body = await res.arrayBuffer();
    // What the request left running (an /api/v1 namespace's charge) settles; a pull record's
    // flush, which waits seconds for more pulls, is not waited for.
    await Promise.race([Promise.all(waiting), new Promise((resolve) => setTimeout(resolve, 300))]);
    return { status: res.status, headers: res.headers, body, json: () => JSON.parse(new TextDecoder().decode(body)) };
  };
}

/** A namespace name no other test uses. */
const freshName = (prefix: string) => `${prefix}${crypto.randomUUID().slice(0, 8)}`;

const pullToken = async (repository: string, subject: string) =>
  registryToken([{ type: "repository", name: repository, actions: ["pull"] }], subject);

beforeAll(async () => {
  admin = await initializeAdmin();
});

beforeEach(() => {
  freezeClock();
});

describe("/v2 request budgets", () => {
  const send = limitedWorker({ FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: "5" });

  it("refuse a noisy namespace with TOOMANYREQUESTS and Retry-After, and spare a quiet one", async () => {
    const noisy = `${freshName("noisy")}/app`;
    const quiet = `${freshName("quiet")}/app`;
    await pushImage(noisy, "latest");
    await pushImage(quiet, "latest");
    const noisyToken = await pullToken(noisy, noisy.split("/")[0]!);
    const quietToken = await pullToken(quiet, quiet.split("/")[0]!);
    const noisyStatuses = [];
    for (let i = 0; i < 8; i++)
      noisyStatuses.push((await send("GET", `/v2/${noisy}/manifests/latest`, { token: noisyToken })).status);
    expect(noisyStatuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const refused = await send("HEAD", `/v2/${noisy}/manifests/latest`, { token: noisyToken });
    expect(refused.status).toBe(429);
    // 5 a minute: one more every 12 s.
    expect(refused.headers.get("Retry-After")).toBe("12");
    const body = await send("GET", `/v2/${noisy}/tags/list`, { token: noisyToken });
    expect(body.json().errors[0].code).toBe("TOOMANYREQUESTS");
    for (let i = 0; i < 5; i++)
      expect((await send("GET", `/v2/${quiet}/manifests/latest`, { token: quietToken })).status).toBe(200);

    advanceClock(12_000);
    expect((await send("GET", `/v2/${noisy}/manifests/latest`, { token: noisyToken })).status).toBe(200);
    expect((await send("GET", `/v2/${noisy}/manifests/latest`, { token: noisyToken })).status).toBe(429);
  });

  it("never limit a superuser", async () => {
    const noisy = `${freshName("busy")}/app`;
    await pushImage(noisy, "latest");
    const token = await pullToken(noisy, noisy.split("/")[0]!);
    for (let i = 0; i < 6; i++) await send("GET", `/v2/${noisy}/manifests/latest`, { token });
    expect((await send("GET", `/v2/${noisy}/manifests/latest`, { token })).status).toBe(429);
    const adminToken = await pullToken(noisy, "admin");
    for (let i = 0; i < 10; i++)
      expect((await send("GET", `/v2/${noisy}/manifests/latest`, { token: adminToken })).status).toBe(200);
  });
});

describe("/v2 per-requester budgets", () => {
  const send = limitedWorker({ FAIR_USE_TOKEN_REQUESTS_PER_MINUTE: "2" });

  it("count anonymous requests per client address", async () => {
    const from = (address: string) => send("GET", "/v2/", { headers: { "CF-Connecting-IP": address } });
    expect((await from("203.0.113.7")).status).toBe(401);
    expect((await from("203.0.113.7")).status).toBe(401);
    const refused = await from("203.0.113.7");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("30");
    expect((await from("203.0.113.8")).status).toBe(401);
  });

  it("count an account's requests whatever repository they go to", async () => {
    const owner = freshName("acct");
    await pushImage(`${owner}/one`, "latest");
    await pushImage(`${owner}/two`, "latest");
    const one = await pullToken(`${owner}/one`, owner);
    const two = await pullToken(`${owner}/two`, owner);
    expect((await send("GET", `/v2/${owner}/one/manifests/latest`, { token: one })).status).toBe(200);
    expect((await send("GET", `/v2/${owner}/two/manifests/latest`, { token: two })).status).toBe(200);
    expect((await send("GET", `/v2/${owner}/one/manifests/latest`, { token: one })).status).toBe(429);
  });
});

describe("the pull bandwidth budget", () => {
  const send = limitedWorker({ FAIR_USE_NAMESPACE_PULL_BYTES_PER_HOUR: "2000" });

  it("charges blob bytes as sent, ranges included, and refuses a GET before sending any", async () => {
    const name = `${freshName("bytes")}/app`;
    const image = await pushImage(name, "latest");
    const token = await pullToken(name, name.split("/")[0]!);
    const layer = `/v2/${name}/blobs/${image.layers[0]}`;
    // The layer is 1024 bytes: 976 of 2000 left, then 876 after a 100-byte range.
    const whole = await send("GET", layer, { token });
    expect([whole.status, whole.body.byteLength]).toEqual([200, 1024]);
    const range = await send("GET", layer, { token, headers: { Range: "bytes=0-99" } });
    expect([range.status, range.body.byteLength]).toEqual([206, 100]);
    const refused = await send("GET", layer, { token });
    expect(refused.status).toBe(429);
    expect(refused.json().errors[0].code).toBe("TOOMANYREQUESTS");
    // 148 bytes missing at 2000 an hour: 266.4 s.
    expect(refused.headers.get("Retry-After")).toBe("267");
    expect(refused.headers.get("Content-Length")).not.toBe("1024");
    // A HEAD sends no bytes, and another namespace's blobs are not this one's budget.
    expect((await send("HEAD", layer, { token })).status).toBe(200);
    const other = `${freshName("bytes")}/app`;
    const otherImage = await pushImage(other, "latest");
    const otherToken = await pullToken(other, other.split("/")[0]!);
    expect((await send("GET", `/v2/${other}/blobs/${otherImage.layers[0]}`, { token: otherToken })).status).toBe(200);
  });
});

describe("/api/v1 budgets", () => {
  it("answer a spent requester budget with Quay's error JSON and Retry-After", async () => {
    const send = limitedWorker({ FAIR_USE_TOKEN_REQUESTS_PER_MINUTE: "3" });
    const user = freshName("apiuser");
    await subjectNamed(user);
    const token = await tokenFor(user);
    for (let i = 0; i < 3; i++) expect((await send("GET", "/api/v1/user/", { token })).status).toBe(200);
    const refused = await send("GET", "/api/v1/user/", { token });
    expectQuayError({ status: refused.status, json: refused.json() }, 429, "too_many_requests");
    expect(refused.headers.get("Retry-After")).toBe("20");
  });

  it("charge a namespace for answered requests only, so strangers' refusals spend none of it", async () => {
    const send = limitedWorker({ FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE: "2" });
    const owner = freshName("apins");
    await pushImage(`${owner}/app`, "latest");
    const token = await tokenFor(owner);
    for (let i = 0; i < 10; i++) expect((await send("GET", `/api/v1/repository/${owner}/app`)).status).toBe(404);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send("GET", `/api/v1/repository/${owner}/app`, { token })).status);
    // The third is answered, and its charge (after the answer) finds the budget spent.
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe("a superuser's override of an organization", () => {
  it("limits an organization the defaults leave alone, is logged, and lifts when removed", async () => {
    const send = limitedWorker({});
    const owner = freshName("owner");
    await subjectNamed(owner);
    const ownerToken = await tokenFor(owner);
    const org = freshName("org");
    expect((await api("POST", "/organization/", { token: ownerToken, body: { name: org } })).status).toBe(201);
    await pushImage(`${org}/app`, "latest");
    const token = await pullToken(`${org}/app`, owner);

    const entry = await loggedEntry(ownerToken, `/organization/${org}/logs`, "set_namespace_fair_use", async () => {
      const set = await api("PUT", `/superuser/organizations/${org}/fairuse`, {
        token: admin,
        body: { requests_per_minute: 3 },
      });
      expect(set.json).toEqual({
        name: org,
        overridden: true,
        requests_per_minute: 3,
        pull_bytes_per_hour: null,
        effective: { requests_per_minute: 3, pull_bytes_per_hour: 0 },
      });
      return set;
    });
    expect(entry.metadata).toMatchObject({
      namespace: org,
      requests_per_minute: 3,
      previous_requests_per_minute: null,
    });

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send("GET", `/v2/${org}/app/manifests/latest`, { token })).status);
    // Reading the organization's logs above was one of its three requests.
    expect(statuses).toEqual([200, 200, 429, 429]);

    const removed = await loggedEntry(ownerToken, `/organization/${org}/logs`, "delete_namespace_fair_use", () =>
      api("DELETE", `/superuser/organizations/${org}/fairuse`, { token: admin }),
    );
    expect(removed.metadata).toMatchObject({ namespace: org, requests_per_minute: 3 });
    advanceClock(20_000);
    for (let i = 0; i < 5; i++)
      expect((await send("GET", `/v2/${org}/app/manifests/latest`, { token })).status).toBe(200);
    expect((await api("GET", `/superuser/organizations/${org}/fairuse`, { token: admin })).json).toMatchObject({
      overridden: false,
      requests_per_minute: null,
      effective: { requests_per_minute: 0 },
    });
  });

  it("refuses a malformed override and an unknown organization", async () => {
    const bad = await api("PUT", "/superuser/organizations/acme-none/fairuse", {
      token: admin,
      body: { requests_per_minute: -1 },
    });
    expectQuayError(bad, 400, "invalid_request");
    const empty = await api("PUT", "/superuser/organizations/acme-none/fairuse", { token: admin, body: {} });
    expectQuayError(empty, 400, "invalid_request");
    const unknown = await api("PUT", "/superuser/organizations/nosuchorg/fairuse", {
      token: admin,
      body: { requests_per_minute: 5 },
    });
    expect(unknown.status).toBe(404);
  });
});
