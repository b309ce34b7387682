/**
 * Login limits (issue #12, item 6), through the whole Worker with wrangler.toml's values (the
 * workers suite raises them for the other files): 5 failures per account, 20 per client address,
 * waits doubling from 1 s to 5 minutes. Time is the file's clock (`time`, the source of
 * src/lib/clock.ts, which the Worker and its Durable Objects read), never a sleep.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { readConfig } from "../../../src/config";
import { issueToken } from "../../../src/identity/tokens";
import { encryptSecret } from "../../../src/identity/secrets";
import { findUser } from "../../../src/identity/users";
import { useTimeSource } from "../../../src/lib/clock";
import { basic, db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { BASE, errorCode } from "../helpers/registry";

/** wrangler.toml's [vars] for the limits, which the workers suite otherwise raises. */
const LIMITS = { LOGIN_FAILURES_PER_ACCOUNT: "5", LOGIN_FAILURES_PER_IP: "20", LOGIN_BACKOFF_MAX: "5m" };
const worker = createApp();
const limitedEnv = { ...env, ...LIMITS };
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** A request through the Worker running with {@link LIMITS}. */
async function request(method: string, path: string, init: RequestInit & { token?: null } = {}): Promise<Response> {
  const { token: _none, ...rest } = init;
  return worker.fetch(new Request(`${BASE}${path}`, { method, ...rest }), limitedEnv, ctx);
}

/** Only the tests move it, and it only moves forward across the file (each test's reset aside). */
let time = Date.now();
const useFileTime = () => useTimeSource(() => time);
let admin: string;
let ipCounter = 0;
/** A client address no other test uses, so each test starts with clean address counters. */
const freshAddress = () => `198.51.100.${++ipCounter}`;

async function makeUser(username: string, password: string): Promise<void> {
  await api("POST", "/superuser/users", { token: admin, body: { username, email: `${username}@example.com` } });
  await api("PUT", `/superuser/users/${username}`, { token: admin, body: { password } });
}

const v2Auth = (address: string, authorization: string) =>
  request("GET", "/v2/auth?scope=repository:someone/app:pull", {
    token: null,
    headers: { Authorization: authorization, "CF-Connecting-IP": address },
  });

const signin = (address: string, username: string, password: string) =>
  request("POST", "/api/v1/signin", {
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": address },
    body: JSON.stringify({ username, password }),
  });

const authorizeApp = (address: string, username: string, password: string) =>
  request("POST", "/oauth/authorizeapp", {
    headers: {
      Authorization: basic(username, password),
      "Content-Type": "application/x-www-form-urlencoded",
      "CF-Connecting-IP": address,
    },
    body: "client_id=unknown&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
    redirect: "manual",
  });

const federation = (address: string, robot: string, token: string) =>
  request("GET", "/oauth2/federation/robot/token", {
    headers: { Authorization: basic(robot, token), "CF-Connecting-IP": address },
  });

/** PBKDF2 derivations (one per password check) made while `fn` runs. */
async function pbkdf2During(fn: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  try {
    await fn();
    return spy.mock.calls.filter(([algorithm]) => (algorithm as { name: string }).name === "PBKDF2").length;
  } finally {
    spy.mockRestore();
  }
}

async function expectTooManyOnV2(res: Response, retryAfter: number) {
  expect(res.status).toBe(429);
  expect(res.headers.get("Retry-After")).toBe(String(retryAfter));
  expect(await errorCode(res)).toBe("TOOMANYREQUESTS");
}

beforeAll(async () => {
  useFileTime();
  // The logins' events are recorded, not queued: no queue consumer may run on this file's clock,
  // which stands still between the tests' steps (the runtime's waits for it would never end).
  recordEvents();
  admin = await initializeAdmin();
});

beforeEach(useFileTime);

describe("the settings", () => {
  it("default to 5 failures per account, 20 per address and a 5-minute cap, as wrangler.toml says", () => {
    expect(readConfig({})).toMatchObject({
      LOGIN_FAILURES_PER_ACCOUNT: 5,
      LOGIN_FAILURES_PER_IP: 20,
      LOGIN_BACKOFF_MAX: 300,
    });
    expect(readConfig(LIMITS)).toMatchObject({
      LOGIN_FAILURES_PER_ACCOUNT: 5,
      LOGIN_FAILURES_PER_IP: 20,
      LOGIN_BACKOFF_MAX: 300,
    });
  });
});

describe("guessing one account's password", () => {
  it("is refused with 429 and Retry-After after 5 failures, the right password too, without PBKDF2; the wait doubles; then the owner gets in", async () => {
    await makeUser("gina", "gina-password-1");
    const guesser = freshAddress();
    for (let i = 0; i < 5; i++) expect((await v2Auth(guesser, basic("gina", `guess-${i}`))).status).toBe(401);

    let refused!: Response;
    // No oracle: while the account waits, the right password is refused like any guess, unchecked.
    expect(await pbkdf2During(async () => (refused = await v2Auth(guesser, basic("gina", "gina-password-1"))))).toBe(0);
    await expectTooManyOnV2(refused, 1);

    time += 1_000;
    expect((await v2Auth(guesser, basic("gina", "guess-5"))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(guesser, basic("gina", "guess-6")), 2);
    time += 1_000;
    await expectTooManyOnV2(await v2Auth(guesser, basic("gina", "gina-password-1")), 1);
    time += 1_000;
    expect((await v2Auth(guesser, basic("gina", "guess-7"))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(guesser, basic("gina", "gina-password-1")), 4);

    time += 4_000;
    expect((await v2Auth(guesser, basic("gina", "gina-password-1"))).status).toBe(200);
    // The success reset the account: from another address, five failures are free again.
    const other = freshAddress();
    for (let i = 0; i < 5; i++) expect((await v2Auth(other, basic("gina", `again-${i}`))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(other, basic("gina", "again-5")), 1);
  });

  it("caps the wait at LOGIN_BACKOFF_MAX (5 minutes)", async () => {
    await makeUser("hank", "hank-password-1");
    const guesser = freshAddress();
    for (let i = 0; i < 5; i++) expect((await v2Auth(guesser, basic("hank", `guess-${i}`))).status).toBe(401);
    // Failures 6 … 14: each after the previous wait, which has doubled up to 256 s.
    for (let wait = 1; wait <= 256; wait *= 2) {
      time += wait * 1_000;
      expect((await v2Auth(guesser, basic("hank", `wait-${wait}`))).status).toBe(401);
    }
    await expectTooManyOnV2(await v2Auth(guesser, basic("hank", "capped")), 300);
  });

  it("counts parallel guesses as they start: of 20 at once, 5 are checked", async () => {
    await makeUser("ivan", "ivan-password-1");
    const guesser = freshAddress();
    let statuses: number[] = [];
    const derived = await pbkdf2During(async () => {
      statuses = (
        await Promise.all(Array.from({ length: 20 }, (_, i) => v2Auth(guesser, basic("ivan", `parallel-${i}`))))
      ).map((r) => r.status);
    });
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(derived).toBe(5);
  });

  it("lets the owner's parallel first logins all in: they wait for the ones in flight, not a 429", async () => {
    await makeUser("ines", "ines-password-1");
    const home = freshAddress();
    const statuses = (
      await Promise.all(Array.from({ length: 16 }, () => v2Auth(home, basic("ines", "ines-password-1"))))
    ).map((r) => r.status);
    expect(statuses).toEqual(Array(16).fill(200));
  });

  it("does not lock the owner out from an address that proved the account", async () => {
    await makeUser("jane", "jane-password-1");
    const home = freshAddress();
    expect((await v2Auth(home, basic("jane", "jane-password-1"))).status).toBe(200);
    const guesser = freshAddress();
    for (let i = 0; i < 5; i++) expect((await v2Auth(guesser, basic("jane", `guess-${i}`))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(guesser, basic("jane", "jane-password-1")), 1);
    expect((await v2Auth(home, basic("jane", "jane-password-1"))).status).toBe(200);
  });
});

describe("guessing from one address", () => {
  it("is refused after 20 failures across accounts (unknown ones count too), for every account", async () => {
    await makeUser("kate", "kate-password-1");
    const sprayer = freshAddress();
    for (let i = 0; i < 20; i++) expect((await v2Auth(sprayer, basic(`nobody-${i}`, "Password1!"))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(sprayer, basic("kate", "kate-password-1")), 1);
    // Another address is not affected.
    expect((await v2Auth(freshAddress(), basic("kate", "kate-password-1"))).status).toBe(200);
  });
});

describe("every credential path is limited", () => {
  /** Fails `attempt` until a 429 comes; returns how many failures came before it, and the 429. */
  async function failuresBefore429(attempt: () => Promise<Response>): Promise<{ failures: number; refused: Response }> {
    for (let failures = 0; failures <= 25; failures++) {
      const res = await attempt();
      if (res.status === 429) return { failures, refused: res };
      expect(res.status).toBeGreaterThanOrEqual(400);
      await res.arrayBuffer();
    }
    throw new Error("never refused");
  }

  it("/v2/auth passwords and encrypted passwords: per account", async () => {
    await makeUser("lena", "lena-password-1");
    const wrongEncrypted = await encryptSecret(env, "not-lenas-password");
    const address = freshAddress();
    const { failures, refused } = await failuresBefore429(() => v2Auth(address, basic("lena", wrongEncrypted)));
    expect(failures).toBe(5);
    await expectTooManyOnV2(refused, 1);
    const rightEncrypted = await encryptSecret(env, "lena-password-1");
    await expectTooManyOnV2(await v2Auth(address, basic("lena", rightEncrypted)), 1);
  });

  it("POST /api/v1/signin: per account, Quay's error JSON with 429", async () => {
    await makeUser("mona", "mona-password-1");
    const address = freshAddress();
    const { failures, refused } = await failuresBefore429(() => signin(address, "mona", "wrong-password"));
    expect(failures).toBe(5);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expectQuayError(
      { status: refused.status, json: await refused.json() },
      429,
      "too_many_requests",
      /Too many failed login attempts/,
    );
    expect((await signin(address, "mona", "mona-password-1")).status).toBe(429);
  });

  it("POST /oauth/authorizeapp with Basic: per account", async () => {
    await makeUser("nina", "nina-password-1");
    const address = freshAddress();
    const { failures, refused } = await failuresBefore429(() => authorizeApp(address, "nina", "wrong-password"));
    expect(failures).toBe(5);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expectQuayError({ status: refused.status, json: await refused.json() }, 429, "too_many_requests");
  });

  it("POST /oauth/authorizeapp with Basic: per address, across accounts, and the right password then waits too", async () => {
    await makeUser("nora", "nora-password-1");
    const address = freshAddress();
    let guess = 0;
    const { failures, refused } = await failuresBefore429(() =>
      authorizeApp(address, `someone-${++guess}`, "wrong-password"),
    );
    expect(failures).toBe(20);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expectQuayError({ status: refused.status, json: await refused.json() }, 429, "too_many_requests");
    const right = await authorizeApp(address, "nora", "nora-password-1");
    expect(right.status).toBe(429);
    expect(right.headers.get("Retry-After")).toBe("1");
  });

  it("application, OAuth and robot tokens and federated robot tokens: per address", async () => {
    await makeUser("otto", "otto-password-1");
    const otto = await tokenFor("otto", ["user:admin", "org:admin"]);
    const robot = await api("PUT", "/user/robots/ci", { token: otto });
    const appToken = await issueToken(db(), {
      kind: "app",
      userId: (await findUser(db(), "otto"))!.id,
      scopes: ["repo:read"],
    });
    const cases: [string, string][] = [
      ["$app", "A".repeat(40)],
      ["$oauthtoken", "B".repeat(40)],
      ["otto+ci", "C".repeat(64)],
      ["otto+ci", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvdHRvK2NpIn0.c2ln"],
    ];
    for (const [username, wrong] of cases) {
      const address = freshAddress();
      const { failures, refused } = await failuresBefore429(() => v2Auth(address, basic(username, wrong)));
      expect(failures).toBe(20);
      await expectTooManyOnV2(refused, 1);
    }
    // Right tokens from a blocked address wait too.
    const blocked = freshAddress();
    await failuresBefore429(() => v2Auth(blocked, basic("$app", "D".repeat(40))));
    await expectTooManyOnV2(await v2Auth(blocked, basic("$app", appToken)), 1);
    await expectTooManyOnV2(await v2Auth(blocked, basic("otto+ci", robot.json.token)), 1);
  });

  it('GET /oauth2/federation/robot/token: per address, Quay\'s {"error"} with 429', async () => {
    const address = freshAddress();
    const { failures, refused } = await failuresBefore429(() =>
      federation(address, "otto+ci", "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC50ZXN0In0.c2ln"),
    );
    expect(failures).toBe(20);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect(await refused.json()).toEqual({ error: "Too many failed login attempts" });
  });
});

describe("the hot path", () => {
  it("repeated successful logins of a client ask no limiter object once the credential is proven here", async () => {
    await makeUser("pete", "pete-password-1");
    const address = freshAddress();
    const objects = vi.spyOn(env.LOGIN_LIMITER, "get");
    try {
      expect((await v2Auth(address, basic("pete", "pete-password-1"))).status).toBe(200);
      // The first login asked the account's object and the address's.
      expect(objects).toHaveBeenCalledTimes(2);
      objects.mockClear();
      for (let i = 0; i < 10; i++) expect((await v2Auth(address, basic("pete", "pete-password-1"))).status).toBe(200);
      expect(objects).not.toHaveBeenCalled();
      // A failure seen here ends the shortcut for the account: the next login asks again.
      expect((await v2Auth(address, basic("pete", "wrong"))).status).toBe(401);
      objects.mockClear();
      expect((await v2Auth(address, basic("pete", "pete-password-1"))).status).toBe(200);
      expect(objects).toHaveBeenCalled();
    } finally {
      objects.mockRestore();
    }
  });

  it("a guesser who keeps knocking during a wait is refused here, asking no limiter object and hashing nothing", async () => {
    await makeUser("quin", "quin-password-1");
    const guesser = freshAddress();
    for (let i = 0; i < 5; i++) expect((await v2Auth(guesser, basic("quin", `guess-${i}`))).status).toBe(401);
    await expectTooManyOnV2(await v2Auth(guesser, basic("quin", "guess-5")), 1);
    const objects = vi.spyOn(env.LOGIN_LIMITER, "get");
    try {
      const derived = await pbkdf2During(async () => {
        for (let i = 0; i < 10; i++) await expectTooManyOnV2(await v2Auth(guesser, basic("quin", `knock-${i}`)), 1);
      });
      expect(derived).toBe(0);
      expect(objects).not.toHaveBeenCalled();
    } finally {
      objects.mockRestore();
    }
  });
});
