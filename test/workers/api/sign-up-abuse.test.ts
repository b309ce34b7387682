/**
 * What an outsider can do with `POST /api/v1/user/` (createNewUser) beyond making one account:
 * take a name SUPER_USERS lists before its owner registers it (and be a superuser), and create
 * accounts without bound from one address (Quay has recaptcha; Wharf has its login limiter's
 * per-address budget). Through a Worker run with wrangler.toml's login limits, as
 * login-limits.test.ts does; time is the file's clock, never a sleep.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { findUser } from "../../../src/identity/users";
import { useTimeSource } from "../../../src/lib/clock";
import { db } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { BASE } from "../helpers/registry";

const LIMITS = { LOGIN_FAILURES_PER_ACCOUNT: "5", LOGIN_FAILURES_PER_IP: "20", LOGIN_BACKOFF_MAX: "5m" };
const worker = createApp();
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
let time = Date.now();

async function signUp(username: string, address: string, vars: Record<string, string> = {}) {
  const res = await worker.fetch(
    new Request(`${BASE}/api/v1/user/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
      body: JSON.stringify({ username, password: `${username}-password` }),
    }),
    { ...env, ...LIMITS, ...vars },
    ctx,
  );
  return { status: res.status, json: (await res.json()) as any, headers: res.headers };
}

beforeAll(async () => {
  await initializeAdmin();
});

afterEach(() => {
  useTimeSource(null);
});

describe("names SUPER_USERS lists", () => {
  it("cannot be taken by signing up: whoever did would be a superuser", async () => {
    const vars = { SUPER_USERS: "admin, ops-root" };
    const res = await signUp("ops-root", "192.0.2.1", vars);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error_type: "invalid_request", error_message: "The username already exists" });
    expect(await findUser(db(), "ops-root")).toBeUndefined();
    // Any other free name still signs up.
    expect((await signUp("ops-rooter", "192.0.2.1", vars)).status).toBe(200);
  });
});

describe("sign-ups per client address", () => {
  it("are counted against the address: after LOGIN_FAILURES_PER_IP, 429 with Retry-After, and waits that double", async () => {
    useTimeSource(() => time);
    const address = "192.0.2.50";
    for (let i = 0; i < 20; i++) expect((await signUp(`bulk-${i}`, address)).status).toBe(200);
    // The 20th spent the free ones: the address must wait 1 s.
    const refused = await signUp("bulk-21", address);
    expect(refused.status).toBe(429);
    expect(refused.json.error_type).toBe("too_many_requests");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await findUser(db(), "bulk-21")).toBeUndefined();
    // Another address is not held back.
    expect((await signUp("elsewhere", "192.0.2.51")).status).toBe(200);
    // After the wait, one more; then a wait twice as long.
    time += 1_000;
    expect((await signUp("bulk-21", address)).status).toBe(200);
    time += 1_000;
    expect((await signUp("bulk-22", address)).status).toBe(429);
    time += 1_000;
    expect((await signUp("bulk-22", address)).status).toBe(200);
  });

  it("do not spend the address's login budget", async () => {
    const address = "192.0.2.60";
    const vars = { LOGIN_FAILURES_PER_IP: "2" };
    for (let i = 0; i < 3; i++) await signUp(`spender-${i}`, address, vars);
    const signin = await worker.fetch(
      new Request(`${BASE}/api/v1/signin`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
        body: JSON.stringify({ username: "spender-0", password: "spender-0-password" }),
      }),
      { ...env, ...LIMITS, ...vars },
      ctx,
    );
    expect(signin.status).toBe(200);
  });
});
