/**
 * The registry's own URLs (issue #12, item 7e): the token challenge's realm and service, the
 * token audience, the API's error `type` and the discovery document come from Quay's
 * SERVER_HOSTNAME and PREFERRED_URL_SCHEME when set, and otherwise from the request's host only
 * when it is a valid host[:port]; every auth-param is an RFC 7235 quoted-string. The raw-socket
 * side (what workerd makes of a hostile Host header) is test/e2e/host-header.test.ts.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import { signRegistryToken } from "../../../src/identity/registry-tokens";
import { parseAuthority, publicOrigin } from "../../../src/lib/public-url";
import { quotedString } from "../../../src/lib/http";
import { errorCode } from "../helpers/registry";

/** A request through the Worker with `vars` layered over the test's wrangler.toml [vars]. */
async function fetchWith(url: string, vars: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(url, init) as Parameters<typeof worker.fetch>[0];
  const res = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const CONFIGURED = { SERVER_HOSTNAME: "registry.example.com", PREFERRED_URL_SCHEME: "https" };

describe("a hostile host", () => {
  it("answers 400 in the surface's JSON instead of reflecting a host that carries a quote", async () => {
    // The WHATWG URL parser lets `"`, `,` and `=` through in a host, so this is what request.url
    // holds when a client sends `Host: a",error="x` (workerd pastes the header after http://).
    const res = await fetchWith('http://a",error="x/v2/');
    expect(res.status).toBe(400);
    expect(res.headers.get("WWW-Authenticate")).toBeNull();
    expect(await errorCode(res)).toBe("UNSUPPORTED");

    const api = await fetchWith('http://a",b/api/v1/discovery');
    expect(api.status).toBe(400);
    expect(await api.json()).toMatchObject({
      status: 400,
      error_type: "invalid_request",
      detail: "Invalid Host header",
    });
  });

  it("never lets the host decide a URL when SERVER_HOSTNAME is set, but still refuses an invalid one", async () => {
    const res = await fetchWith("http://attacker.example:8443/v2/", CONFIGURED);
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="https://registry.example.com/v2/auth",service="registry.example.com"',
    );
    expect((await fetchWith('http://a",error="x/v2/', CONFIGURED)).status).toBe(400);
  });
});

describe("SERVER_HOSTNAME and PREFERRED_URL_SCHEME", () => {
  it("name the realm and service, and the audience tokens are minted for and checked against", async () => {
    const auth = await fetchWith("http://127.0.0.1:8787/v2/auth?service=registry.example.com", CONFIGURED);
    expect(auth.status).toBe(200);
    const { token } = (await auth.json()) as { token: string };
    expect(decodeJwt(token).aud).toBe("registry.example.com");
    const headers = { Authorization: `Bearer ${token}` };
    expect((await fetchWith("http://127.0.0.1:8787/v2/", CONFIGURED, { headers })).status).toBe(200);

    // A token for the request's own host is not one for this registry once it is named.
    const local = (await signRegistryToken(env, "127.0.0.1:8787", { subject: { kind: "anonymous" }, access: [] }))
      .token;
    const refused = await fetchWith("http://127.0.0.1:8787/v2/", CONFIGURED, {
      headers: { Authorization: `Bearer ${local}` },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="https://registry.example.com/v2/auth",service="registry.example.com",error="invalid_token"',
    );
  });

  it("are the origin of the API's error types and of the discovery documents", async () => {
    const missing = await fetchWith("http://127.0.0.1:8787/api/v1/repository/nobody/nothing", CONFIGURED);
    expect(((await missing.json()) as { type: string }).type).toBe(
      "https://registry.example.com/api/v1/error/not_found",
    );
    const openapi = (await (await fetchWith("http://127.0.0.1:8787/api/v1/openapi.json", CONFIGURED)).json()) as {
      servers: { url: string }[];
    };
    expect(openapi.servers).toEqual([{ url: "https://registry.example.com" }]);
    // Quay's Swagger document names them as Quay's does: SERVER_HOSTNAME and PREFERRED_URL_SCHEME.
    const swagger = (await (await fetchWith("http://127.0.0.1:8787/api/v1/discovery", CONFIGURED)).json()) as {
      host: string;
      schemes: string[];
      securityDefinitions: { oauth2_implicit: { authorizationUrl: string } };
    };
    expect(swagger.host).toBe("registry.example.com");
    expect(swagger.schemes).toEqual(["https"]);
    expect(swagger.securityDefinitions.oauth2_implicit.authorizationUrl).toBe(
      "https://registry.example.com/oauth/authorize",
    );
  });

  it("without them, the request's scheme and host are used, the default port dropped", async () => {
    const res = await fetchWith("http://Registry.Test:80/v2/");
    expect(res.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="http://registry.test/v2/auth",service="registry.test"',
    );
    const v6 = await fetchWith("https://[::1]:8443/v2/");
    expect(v6.headers.get("WWW-Authenticate")).toBe('Bearer realm="https://[::1]:8443/v2/auth",service="[::1]:8443"');
  });
});

describe("parseAuthority", () => {
  it("accepts DNS names, IPv4 and bracketed IPv6, with an optional port", () => {
    for (const ok of [
      "localhost",
      "registry.example.com",
      "a-b.c_d.example",
      "127.0.0.1",
      "10.0.0.1:5000",
      "[::1]",
      "[fe80::1]:8787",
      "EXAMPLE.com:443",
    ]) {
      expect(parseAuthority(ok), ok).not.toBeNull();
    }
    expect(parseAuthority("EXAMPLE.com:443")).toBe("example.com:443");
  });

  it("refuses anything else", () => {
    const bad = [
      "",
      'a",error="x',
      "a b",
      "a,realm=x",
      "a/b",
      "a?b",
      "a#b",
      "a@b",
      "a\\b",
      "a:b:c",
      "host:99999",
      "host:",
      "host:0x10",
      "-lead.example",
      "trail-.example",
      "a..b",
      "ä.example",
      "%41",
      "1.2.3",
      "0x7f.1",
      "256.1.1.1",
      "[::1",
      "[zz::1]",
      "::1",
      "a\r\nb",
      `${"a".repeat(64)}.example`,
      `${"a.".repeat(127)}a`,
    ];
    for (const text of bad) expect(parseAuthority(text), JSON.stringify(text)).toBeNull();
  });
});

describe("publicOrigin", () => {
  const none = { serverHostname: "", preferredScheme: "" as const };
  it("refuses an invalid Host header even when the URL workerd made of it looks fine", () => {
    // `Host: a/b` arrives as http://a/b/v2/: the URL alone looks fine, the header does not.
    expect(publicOrigin("http://a/b/v2/", "a/b", none)).toBeNull();
    expect(publicOrigin("http://a/v2/", "a", none)).toEqual({ origin: "http://a", host: "a" });
  });
});

describe("quotedString", () => {
  it("escapes quotes and backslashes and drops what a quoted-string cannot hold", () => {
    expect(quotedString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quotedString("line\r\nbreak\u0000\u0100")).toBe('"linebreak"');
  });
});
