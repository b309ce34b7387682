/**
 * Quay's public `GET /config`, which the UI reads when it loads (src/routes/public-config.ts), and
 * the OIDC_PROVIDERS setting whose providers it lists.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { readConfig } from "../../../src/config";
import { parseOidcProviders } from "../../../src/lib/oidc-providers";
import { initializeAdmin } from "../helpers/api";
import { BASE } from "../helpers/registry";

const ISSUER = "https://sso.test/realms/main";
const CLIENT_SECRET = "the-client-secret-1";
const PROVIDERS = [
  { id: "sso", title: "Company SSO", issuer: ISSUER, client_id: "wharf-ui", scopes: ["profile", "email"] },
  { id: "impostor", title: "Impostor", issuer: "https://impostor.test", client_id: "wharf-ui" },
];
const oidcEnv = {
  ...env,
  OIDC_PROVIDERS: JSON.stringify(PROVIDERS),
  OIDC_CLIENT_SECRETS: JSON.stringify({ sso: CLIENT_SECRET }),
};
const app = createApp();
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

const call = (method: string, path: string, init: { env?: object } = {}) =>
  app.fetch(new Request(`${BASE}${path}`, { method }), (init.env ?? oidcEnv) as Env, ctx);

describe("GET /config", () => {
  it("says the registry needs its first user, then that it does not", async () => {
    const before = await call("GET", "/config");
    expect(before.status).toBe(200);
    expect(((await before.json()) as { needs_initialization: boolean }).needs_initialization).toBe(true);
    await initializeAdmin();
    const after = (await (await call("GET", "/config")).json()) as Record<string, any>;
    expect(after.needs_initialization).toBe(false);
  });

  it("gives the features and external logins the UI reads, without any secret", async () => {
    const res = await call("GET", "/config");
    const text = await res.text();
    expect(text).not.toContain(CLIENT_SECRET);
    const body = JSON.parse(text);
    expect(body.features).toMatchObject({
      USER_CREATION: true,
      DIRECT_LOGIN: true,
      PROXY_CACHE: false,
      MAILING: false,
      // Issue #18's defaults: builds on, the scanner off until an operator turns it on.
      BUILD_SUPPORT: true,
      SECURITY_SCANNER: false,
    });
    expect(Object.keys(body.features).some((k) => k.startsWith("FEATURE_"))).toBe(false);
    expect(body.config).toMatchObject({ SERVER_HOSTNAME: "registry.test", PREFERRED_URL_SCHEME: "http" });
    expect(body.external_login).toEqual([
      { id: "sso", title: "Company SSO", config: { CLIENT_ID: "wharf-ui", OIDC: true } },
      { id: "impostor", title: "Impostor", config: { CLIENT_ID: "wharf-ui", OIDC: true } },
    ]);
    const closed = (await (await call("GET", "/config", { env: { ...env } })).json()) as Record<string, any>;
    expect(closed.external_login).toEqual([]);
  });
});

describe("OIDC_PROVIDERS", () => {
  it("takes Quay's settings as JSON and refuses what cannot work", () => {
    expect(parseOidcProviders("")).toEqual([]);
    expect(parseOidcProviders(JSON.stringify([{ ...PROVIDERS[0], issuer: `${ISSUER}/` }]))).toEqual([
      {
        id: "sso",
        title: "Company SSO",
        issuer: ISSUER,
        clientId: "wharf-ui",
        scopes: ["openid", "profile", "email"],
        icon: null,
        usernameClaim: "preferred_username",
      },
    ]);
    for (const bad of [
      "{",
      JSON.stringify({ id: "sso" }),
      JSON.stringify([{ ...PROVIDERS[0], issuer: "http://sso.example.com" }]),
      JSON.stringify([{ ...PROVIDERS[0], id: "Bad Id" }]),
      JSON.stringify([{ ...PROVIDERS[0], client_secret: "in the vars" }]),
      JSON.stringify([PROVIDERS[0], PROVIDERS[0]]),
    ])
      expect(() => parseOidcProviders(bad), bad).toThrow(/OIDC_PROVIDERS/);
    // A provider on the developer's machine may be plain http.
    expect(parseOidcProviders(JSON.stringify([{ ...PROVIDERS[0], issuer: "http://127.0.0.1:9000" }]))[0]!.issuer).toBe(
      "http://127.0.0.1:9000",
    );
    expect(() => readConfig({ OIDC_PROVIDERS: "[1]" })).toThrow(/OIDC_PROVIDERS/);
  });
});
