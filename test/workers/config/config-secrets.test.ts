/**
 * An attacker's review of the configuration's answers (issue #19): no answer, to anyone, carries a
 * credential that sits in the configuration. The 503 of an invalid configuration is served to
 * anonymous callers, so what it quotes must be safe to publish: a URL's user information is
 * masked wherever a value or message holds one (a password may itself hold `@`), and
 * OIDC_PROVIDERS, whose mistakes may carry a client secret (Quay's `*_LOGIN_CONFIG` blocks hold
 * CLIENT_SECRET, and are pasted as such), is named but never quoted.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { CONFIG_KEYS, describeIssue, configIssues, maskCredentials, SECRET_KEYS } from "../../../src/config";
import envTypes from "../../../src/env.ts?raw";
import { answerOf, api, initializeAdmin } from "../helpers/api";
import { requestWith } from "../helpers/mailbox";
import { BASE } from "../helpers/registry";

const SECRET = "hunter2-s3cret";

async function withVars(vars: Record<string, string>, path: string) {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`${BASE}${path}`), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.clone().text(), json: (await answerOf(res)).json };
}

afterEach(() => vi.restoreAllMocks());

describe("credentials in the configuration", () => {
  it("every secret the Worker declares (src/env.ts WharfSecrets) is one SECRET_KEYS keeps out of answers", () => {
    const block = envTypes.slice(envTypes.indexOf("interface WharfSecrets {"));
    const declared = [...block.slice(0, block.indexOf("\n}")).matchAll(/^ {2}([A-Z][A-Z0-9_]*)\??:/gm)].map(
      (m) => m[1],
    );
    expect(declared.length).toBeGreaterThan(0);
    expect([...SECRET_KEYS].sort()).toEqual([...declared].sort());
    for (const key of SECRET_KEYS) expect(CONFIG_KEYS as string[]).not.toContain(key);
  });

  it("masks a URL's user information even when the password holds '@', anywhere in a text", () => {
    expect(maskCredentials(`https://splunk:p@${SECRET}@logs.example.com:8088/x`)).toBe(
      "https://***@logs.example.com:8088/x",
    );
    expect(maskCredentials(`a https://u:${SECRET}@h/x and ftp://v:${SECRET}@k?q=1`)).toBe(
      "a https://***@h/x and ftp://***@k?q=1",
    );
    expect(maskCredentials("https://logs.example.com/x@y")).toBe("https://logs.example.com/x@y");
  });

  it("masking is linear on hostile text (no backtracking blow-up)", () => {
    const hostile = `${"a".repeat(200_000)}${"://".repeat(50_000)}`;
    const started = performance.now();
    maskCredentials(hostile);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("checks hostile values of every key in linear time (no ReDoS in the configuration's parsing)", () => {
    const n = 50_000;
    const shapes = [
      `${"a".repeat(n)}!`,
      `${"1".repeat(n)}x`,
      "-".repeat(n),
      "a@".repeat(n),
      "a.".repeat(n),
      "1d,".repeat(n),
      "[".repeat(n),
      `${" ".repeat(n)}x`,
      "a:".repeat(n),
      `${"a-".repeat(n)}!`,
    ];
    for (const key of CONFIG_KEYS) {
      for (const value of shapes) {
        const started = performance.now();
        for (const issue of configIssues({ [key]: value })) describeIssue(issue);
        expect(performance.now() - started, `${key} ${value.slice(0, 8)}…`).toBeLessThan(1_000); // quadratic backtracking on 100 kB would take minutes
      }
    }
  });

  it("the 503 of an invalid configuration quotes no credential of a URL nor OIDC_PROVIDERS' contents", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const providers = JSON.stringify([
      { id: "sso", title: "SSO", issuer: "https://sso.example.com", client_id: "wharf", client_secret: SECRET },
    ]);
    for (const path of ["/v2/", "/api/v1/user/", "/health/instance"]) {
      const res = await withVars({ OIDC_PROVIDERS: providers, ACTION_LOG_SINK_URL: `ftp://u:p@${SECRET}@h/x` }, path);
      expect(res.status, path).toBe(503);
      expect(res.text, path).toContain("OIDC_PROVIDERS");
      expect(res.text, path).toContain("ACTION_LOG_SINK_URL");
      expect(res.text, path).not.toContain(SECRET);
    }
    const logged = JSON.stringify(errors.mock.calls);
    expect(logged).not.toContain(SECRET);
  });

  it("check-config's lines (describeIssue) quote neither", () => {
    const issues = configIssues({
      OIDC_PROVIDERS: `[{"id":"sso","client_secret":"${SECRET}"}]`,
      ACTION_LOG_SINK_URL: `ftp://u:${SECRET}@h`,
    });
    expect(issues.map((i) => i.key)).toEqual(["ACTION_LOG_SINK_URL", "OIDC_PROVIDERS"]);
    for (const issue of issues) expect(describeIssue(issue)).not.toContain(SECRET);
  });
});

describe("the configuration endpoints quote no credential", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await initializeAdmin();
  });

  it("GET /superuser/config and /config mask a password holding '@'", async () => {
    const sink = { ...env, ACTION_LOG_SINK_URL: `https://splunk:p@${SECRET}@logs.example.com/x` } as unknown as Env;
    for (const path of ["/api/v1/superuser/config", "/api/v1/config"]) {
      const res = await requestWith(sink, "GET", path, { token: admin });
      expect(res.status, path).toBe(200);
      expect(JSON.stringify(res.json), path).not.toContain(SECRET);
    }
  });

  it("the validate endpoints do not echo a credential submitted in a bad value", async () => {
    const config = {
      ACTION_LOG_SINK_URL: `ftp://u:${SECRET}@h/x`,
      OIDC_PROVIDERS: [{ id: "sso", client_secret: SECRET }],
    };
    const su = await api("POST", "/superuser/config/validate", { token: admin, body: { config } });
    expect(su.status).toBe(200);
    expect(su.json.status).toBe(false);
    expect(JSON.stringify(su.json)).not.toContain(SECRET);
    const bundle = await api("POST", "/config/validate", { token: admin, body: config });
    expect(bundle.status).toBe(200);
    expect(bundle.json.map((e: { FieldGroup: string }) => e.FieldGroup).sort()).toEqual([
      "ACTION_LOG_SINK_URL",
      "OIDC_PROVIDERS",
    ]);
    expect(JSON.stringify(bundle.json)).not.toContain(SECRET);
  });

  it("hostile bodies: non-objects, prototype keys and nesting are answered 400 or validated, never 500", async () => {
    const bodies: unknown[] = [
      [],
      "x",
      42,
      null,
      { config: [] },
      { config: null },
      JSON.parse('{"config": {"__proto__": {"polluted": true}, "constructor": 1}}'),
      { config: { TAG_EXPIRATION_OPTIONS: [[[[["1d"]]]]], SERVER_HOSTNAME: { a: { b: 1 } } } },
    ];
    for (const body of bodies) {
      for (const path of ["/superuser/config/validate", "/config/validate"]) {
        const res = await api("POST", path, { token: admin, body });
        expect([200, 400], `${path} ${JSON.stringify(body)}`).toContain(res.status);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
