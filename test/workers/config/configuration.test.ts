/**
 * One typed configuration (src/config.ts): every bad value is named with its key and value, by the
 * schema's check (what `npm start` and `npm run check-config` print) and by the Worker itself,
 * which answers 503 in each surface's error shape rather than a 500, and logs it once; and the
 * superuser's configuration endpoints: the effective [vars] with secrets only as set or not, and
 * the validation of a proposed configuration, key by key, applying nothing.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import worker from "../../../src/index";
import { CONFIG_KEYS, configIssues, describeIssue, readConfig, SECRET_KEYS } from "../../../src/config";
import { answerOf, api, expectQuayError, initializeAdmin } from "../helpers/api";
import { requestWith } from "../helpers/mailbox";
import { BASE } from "../helpers/registry";

/** A request through the whole app with `vars` over the tests' environment. */
async function withVars(vars: Record<string, string>, method: string, path: string) {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`${BASE}${path}`, { method }), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return answerOf(res);
}

afterEach(() => vi.restoreAllMocks());

describe("the configuration's check", () => {
  const BAD: [key: string, value: string, said: string][] = [
    ["TAG_EXPIRATION_OPTIONS", "0s,2x", 'TAG_EXPIRATION_OPTIONS: not a span: "2x"'],
    ["REGISTRY_STATE", "read-only", 'REGISTRY_STATE: expected "normal" or "readonly": "read-only"'],
    ["FEATURE_USER_CREATION", "yes", 'FEATURE_USER_CREATION: expected "true" or "false": "yes"'],
    ["SERVER_HOSTNAME", "a b", 'SERVER_HOSTNAME: must be host[:port]: "a b"'],
    ["UPLOAD_EXPIRY_SECONDS", "-1", 'UPLOAD_EXPIRY_SECONDS: Too small: expected number to be >0: "-1"'],
    ["NOTIFICATION_SEND_TIMEOUT", "600", 'NOTIFICATION_SEND_TIMEOUT: Too big: expected number to be <=60: "600"'],
    ["ACTION_LOG_RETENTION", "1h", 'ACTION_LOG_RETENTION: must be at least 1d: "1h"'],
    ["ACTION_LOG_SINK_URL", "ftp://x", 'ACTION_LOG_SINK_URL: must be an http(s) URL or empty: "ftp://x"'],
    ["MAIL_FROM", "nobody", 'MAIL_FROM: must be an email address: "nobody"'],
    [
      "FEATURE_MAILING",
      "true",
      'FEATURE_MAILING: needs a mail transport: set MAIL_TRANSPORT (cloudflare or dev): "true"',
    ],
    ["LIBRARY_NAMESPACE", "Lib", 'LIBRARY_NAMESPACE: must be one repository name component: "Lib"'],
    [
      "DEFAULT_NAMESPACE_AUTOPRUNE_POLICY",
      "{}",
      'DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: must be {method, value} as JSON: "{}"',
    ],
  ];

  it.each(BAD)("names %s and its value", (key, value, said) => {
    const issues = configIssues({ MAIL_TRANSPORT: "none", [key]: value });
    expect(issues.map((issue) => issue.key)).toEqual([key]);
    expect(describeIssue(issues[0]!)).toBe(said);
  });

  it("names every bad key at once, and none of a valid configuration", () => {
    expect(configIssues({ REGISTRY_STATE: "x", TAG_EXPIRATION_OPTIONS: "2x" }).map((i) => i.key)).toEqual([
      "REGISTRY_STATE",
      "TAG_EXPIRATION_OPTIONS",
    ]);
    expect(configIssues(env as unknown as Record<string, unknown>)).toEqual([]);
    expect(configIssues({})).toEqual([]);
    expect(readConfig({ REGISTRY_STATE: "" }).REGISTRY_STATE).toBe("normal");
  });
});

describe("a Worker whose configuration is invalid", () => {
  const bad = { TAG_EXPIRATION_OPTIONS: "1d,2x", REGISTRY_STATE: "frozen" };
  const publicSaid =
    "Wharf's configuration is invalid: REGISTRY_STATE, TAG_EXPIRATION_OPTIONS (the Worker's log and npm run check-config say why)";

  it("answers 503 on /v2 (distribution's UNAVAILABLE), naming the keys but not their values (anyone reads it)", async () => {
    const res = await withVars(bad, "GET", "/v2/");
    expect(res.status).toBe(503);
    expect(res.json.errors[0].code).toBe("UNAVAILABLE");
    expect(res.json.errors[0].message).toBe(publicSaid);
    expect(res.json.errors[0].message).not.toContain("2x");
    expect(res.json.errors[0].message).not.toContain("frozen");
  });

  it("answers Quay's error JSON on /api/v1 and plain JSON elsewhere, never a 500", async () => {
    const apiRes = await withVars(bad, "POST", "/api/v1/signin");
    expect(apiRes.status).toBe(503);
    expect(apiRes.json).toMatchObject({ status: 503, error_type: "service_unavailable" });
    expect(apiRes.json.error_message).toBe(publicSaid);
    for (const path of ["/health/live", "/config", "/oauth2/x/callback"]) {
      const res = await withVars(bad, "GET", path);
      expect(res.status, path).toBe(503);
      expect(res.json.error, path).toBe(publicSaid);
    }
  });

  it("postpones its queue batches rather than failing them into the dead-letter queue", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const batch = createMessageBatch("wharf-events", [{ id: "m1", timestamp: new Date(), attempts: 1, body: {} }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, ...bad } as unknown as Env, ctx);
    const result = await getQueueResult(batch, ctx);
    // (The test harness records the retry, not its delay.)
    expect(result).toMatchObject({ ackAll: false, retryBatch: { retry: true }, explicitAcks: [] });
  });

  it("logs the problem once, however many requests meet it", async () => {
    const logged = vi.spyOn(console, "error");
    const broken = { ...env, NOTIFICATION_SEND_TIMEOUT: "600" } as unknown as Env;
    const app = createApp();
    for (const path of ["/v2/", "/api/v1/discovery", "/health/live"]) {
      const ctx = createExecutionContext();
      expect((await app.fetch(new Request(`${BASE}${path}`), broken, ctx)).status).toBe(503);
    }
    const lines = logged.mock.calls.map((call) => String(call[0])).filter((line) => line.includes("configuration"));
    expect(lines).toHaveLength(1);
    // The log, for the operator, says what is wrong and the value; the answer names the key alone.
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: "invalid configuration", keys: ["NOTIFICATION_SEND_TIMEOUT"] });
    expect(JSON.parse(lines[0]!).message).toContain("NOTIFICATION_SEND_TIMEOUT");
    expect(JSON.parse(lines[0]!).message).toContain('"600"');
  });
});

describe("the configuration endpoints", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await initializeAdmin();
  });

  it("GET /superuser/config: every key with its [vars] value, secrets only as set, never their values", async () => {
    const res = await api("GET", "/superuser/config", { token: admin });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.config)).toEqual(CONFIG_KEYS);
    expect(res.json.config).toMatchObject({ REGISTRY_STATE: "normal", SUPER_USERS: "admin" });
    expect(res.json.secrets).toEqual(
      Object.fromEntries(SECRET_KEYS.map((key) => [key, key === "WHARF_SECRET_KEY" || key === "WHARF_TOKEN_KEY"])),
    );
    const text = JSON.stringify(res.json);
    for (const key of SECRET_KEYS) {
      const value = (env as unknown as Record<string, string | undefined>)[key];
      if (value) expect(text).not.toContain(value);
    }
    // The token key's public half only (what a rotation with overlap needs), never the private `d`.
    expect(res.json.token_signing_keys).toHaveLength(1);
    expect(res.json.token_signing_keys[0]).toMatchObject({ role: "current", public_jwk: { kty: "EC", crv: "P-256" } });
    expect(Object.keys(res.json.token_signing_keys[0].public_jwk).sort()).toEqual(["crv", "kty", "x", "y"]);
    const bundle = await api("GET", "/config", { token: admin });
    expect(bundle.json).toEqual({ "config.yaml": res.json.config, certs: [], secrets: res.json.secrets });
  });

  it("masks the credentials of a URL among the [vars]", async () => {
    const sink = { ...env, ACTION_LOG_SINK_URL: "https://splunk:hunter2@logs.example.com:8088/x" } as unknown as Env;
    const res = await requestWith(sink, "GET", "/api/v1/superuser/config", { token: admin });
    expect(res.json.config.ACTION_LOG_SINK_URL).toBe("https://***@logs.example.com:8088/x");
    expect(JSON.stringify(res.json)).not.toContain("hunter2");
  });

  it("POST /superuser/config/validate: each bad key named, unknown keys and secrets refused, nothing applied", async () => {
    const proposed = {
      TAG_EXPIRATION_OPTIONS: ["1d", "2x"],
      FEATURE_PROXY_CACHE: "maybe",
      DB_URI: "postgresql://quay",
      WHARF_TOKEN_KEY: "do-not-echo-me",
      NOTIFICATION_SEND_TIMEOUT: 30,
      PERMANENTLY_DELETE_TAGS: true,
    };
    const res = await api("POST", "/superuser/config/validate", { token: admin, body: { config: proposed } });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe(false);
    expect(res.json.errors).toEqual([
      { key: "DB_URI", message: "DB_URI: is not a setting Wharf reads" },
      {
        key: "WHARF_TOKEN_KEY",
        message: "WHARF_TOKEN_KEY: is a secret: set it with `wrangler secret put`, not in [vars]",
      },
      { key: "TAG_EXPIRATION_OPTIONS", message: 'TAG_EXPIRATION_OPTIONS: not a span: "2x"' },
      { key: "FEATURE_PROXY_CACHE", message: 'FEATURE_PROXY_CACHE: expected "true" or "false": "maybe"' },
    ]);
    expect(res.json.reason).toContain("TAG_EXPIRATION_OPTIONS");
    expect(JSON.stringify(res.json)).not.toContain("do-not-echo-me");
    expect(readConfig(env).PERMANENTLY_DELETE_TAGS).toBe(false);

    const valid = { config: { REGISTRY_STATE: "readonly", TAG_EXPIRATION_OPTIONS: "1d,2w", FEATURE_MAILING: null } };
    const ok = await api("POST", "/superuser/config/validate", { token: admin, body: valid });
    expect(ok.json).toEqual({ status: true, reason: "", errors: [] });
    expect(readConfig(env).REGISTRY_STATE).toBe("normal");
  });

  it("POST /config/validate: the config editor's list of errors", async () => {
    const res = await api("POST", "/config/validate", { token: admin, body: { REGISTRY_STATE: "paused" } });
    expect(res.json).toEqual([
      {
        FieldGroup: "REGISTRY_STATE",
        Tags: ["REGISTRY_STATE"],
        Message: 'REGISTRY_STATE: expected "normal" or "readonly": "paused"',
      },
    ]);
  });

  it("refuses a body that is not a configuration with Quay's invalid_request", async () => {
    expectQuayError(
      await api("POST", "/superuser/config/validate", { token: admin, body: { nope: 1 } }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("POST", "/config/validate", { token: admin, body: "[1]" }), 400, "invalid_request");
  });
});
