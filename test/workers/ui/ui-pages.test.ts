/**
 * The web UI's pages (issue #17): every path outside the Worker's own surfaces answers the
 * single-page app's HTML with its security headers (src/routes/ui-pages.ts): a CSP without inline
 * scripts that forbids framing, and HSTS only for an https origin that is not a loopback name.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uiSecurityHeaders } from "../../../src/routes/ui-pages";
import { request } from "../helpers/registry";

describe("the UI's pages", () => {
  it("answer the app's HTML on Quay's URLs, with a CSP without unsafe-inline and no framing", async () => {
    for (const path of [
      "/",
      "/signin",
      "/repository/",
      "/repository/acme/app?tab=tags",
      "/organization/acme",
      "/superuser",
    ]) {
      const res = await request("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("Content-Type"), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain('<div id="root"></div>');
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(res.headers.get("X-Frame-Options"), path).toBe("DENY");
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
    }
  });

  it("refuse every method but GET and HEAD with 405 in the plain error JSON, naming the allowed ones", async () => {
    for (const [method, path] of [
      ["PUT", "/"],
      ["POST", "/signin"],
      ["DELETE", "/repository/acme/app"],
      ["PATCH", "/organization/acme"],
      // The URL parser resolves the encoded dot segments: this is `PUT /`.
      ["PUT", "/filedrop/%2e%2e"],
    ] as const) {
      const res = await request(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("Allow"), `${method} ${path}`).toBe("GET, HEAD");
      expect(await res.json(), `${method} ${path}`).toEqual({ error: "Method Not Allowed" });
    }
  });

  it("serve the OAuth token page and its script (a file, not inline) with the same headers", async () => {
    const page = await request("GET", "/oauth/localapp");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="/oauth/localapp.js"></script>');
    expect(html).not.toMatch(/<script>/);
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    const script = await request("GET", "/oauth/localapp.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toMatch(/javascript/);
    expect(await script.text()).toContain("access_token");
  });

  it("send HSTS only over https and never for a loopback name", async () => {
    expect(uiSecurityHeaders("https://registry.example.com")["Strict-Transport-Security"]).toMatch(/^max-age=\d+/);
    for (const origin of [
      "http://registry.example.com",
      "https://localhost:8787",
      "https://127.0.0.1",
      "http://localhost:8787",
    ])
      expect(uiSecurityHeaders(origin)["Strict-Transport-Security"], origin).toBeUndefined();
    const res = await exports.default.fetch(new Request("https://wharf.example.com/signin"));
    expect(res.headers.get("Strict-Transport-Security")).toMatch(/^max-age=31536000/);
  });

  it("never answer the app's HTML where the Worker does not run first (no security headers there)", async () => {
    // wrangler.toml's run_worker_first leaves /assets/* to the assets alone. Were a missing file
    // there to get the single-page fallback, https://registry/assets/x would be the whole app
    // without frame-ancestors: framed by any site, it navigates inside itself (pushState) to
    // every screen, a clickjacking of each. Such a path must be a plain 404.
    for (const path of ["/assets/missing.js", "/assets/x/y", "/assets/"]) {
      const res = await env.ASSETS.fetch(
        new Request(`https://wharf.example.com${path}`, {
          headers: { Accept: "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe" },
        }),
      );
      const body = await res.text();
      expect(res.status, path).toBe(404);
      expect(body, path).not.toContain('<div id="root"></div>');
    }
    // The Worker still answers every UI path with the app, headers and all.
    const page = await request("GET", "/repository/acme/app/extra?tab=tags");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"></div>');
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    const head = await request("HEAD", "/organization/acme");
    expect(head.status).toBe(200);
    expect(head.headers.get("X-Frame-Options")).toBe("DENY");
  });
});
