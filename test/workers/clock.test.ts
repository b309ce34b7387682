/**
 * The clock (src/lib/clock.ts) reaches everything that keeps time: the Worker, its Durable Objects
 * (one isolate and one module graph with the tests, so test/workers/helpers/clock.ts moves theirs
 * too) and jose's token checks. No test here sleeps.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { TOKEN_TTL_SECONDS } from "../../src/identity/registry-tokens";
import { clock } from "../../src/lib/clock";
import { advanceClock, freezeClock } from "./helpers/clock";
import { errorCode, openUpload, patchChunk, randomBytes, registryToken, request, uniqueName } from "./helpers/registry";

const DAY_MS = 86_400_000;
const EXPIRY_MS = Number(env.UPLOAD_EXPIRY_SECONDS) * 1000;

function sessionOf(location: string): DurableObjectStub {
  return env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(location.split("/").pop()!));
}

const alarmOf = (stub: DurableObjectStub) => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());

describe("the test clock", () => {
  it("moves forward, freezes, and is the system time again in the next test", () => {
    const before = Date.now();
    advanceClock(DAY_MS);
    expect(clock.now()).toBeGreaterThanOrEqual(before + DAY_MS);
    const frozen = freezeClock();
    expect(clock.now()).toBe(frozen);
    advanceClock(1_500);
    expect(clock.now()).toBe(frozen + 1_500);
    expect(clock.date().getTime()).toBe(frozen + 1_500);
    expect(() => advanceClock(-1)).toThrow(RangeError);
  });

  it("was reset after the previous test", () => {
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
  });
});

describe("an upload session's Durable Object", () => {
  it("sets its expiry alarm by the clock, and the upload is gone once the clock reaches it", async () => {
    advanceClock(3 * DAY_MS);
    const opened = clock.now();
    const location = await openUpload(uniqueName("clock"));
    const stub = sessionOf(location);
    const alarm = await alarmOf(stub);
    // The object read the moved clock: its alarm is three days past the system time's expiry.
    expect(alarm!).toBeGreaterThanOrEqual(opened + EXPIRY_MS);
    expect(alarm!).toBeLessThanOrEqual(clock.now() + EXPIRY_MS);

    advanceClock(DAY_MS);
    const patchedAt = clock.now();
    expect((await patchChunk(location, randomBytes(10), 0)).status).toBe(202);
    expect(await alarmOf(stub)).toBeGreaterThanOrEqual(patchedAt + EXPIRY_MS);

    advanceClock(EXPIRY_MS);
    expect(await alarmOf(stub)).toBeLessThanOrEqual(clock.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const res = await request("GET", location);
    expect([res.status, await errorCode(res)]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
  });
});

describe("registry tokens (jose)", () => {
  it("take iat and exp from the clock, are valid by it, and are refused once it passes their lifetime", async () => {
    advanceClock(DAY_MS);
    const token = await registryToken([{ type: "registry", name: "catalog", actions: ["*"] }]);
    const { iat, exp, nbf } = decodeJwt(token);
    expect(Math.abs(iat! * 1000 - clock.now())).toBeLessThan(2_000);
    expect(exp).toBe(iat! + TOKEN_TTL_SECONDS);
    // Not before a day past the system time: only a jose that reads the clock accepts it now.
    expect(nbf! * 1000).toBeGreaterThan(Date.now() + DAY_MS - 5_000);
    expect((await request("GET", "/v2/", { token })).status).toBe(200);

    advanceClock((TOKEN_TTL_SECONDS - 10) * 1000);
    expect((await request("GET", "/v2/", { token })).status).toBe(200);
    // Past exp and jose's five seconds of tolerance, with the claims still in the isolate's cache.
    advanceClock(20_000);
    const late = await request("GET", "/v2/", { token });
    expect(late.status).toBe(401);
    expect(late.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });
});
