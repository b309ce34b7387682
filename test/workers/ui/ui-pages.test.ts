/**
 * The web UI's pages (issue #17): every path outside the Worker's own surfaces answers the
 * single-page app's HTML with its security headers (src/routes/ui-pages.ts): a CSP without inline
 * scripts that forbids framing, and HSTS only for an https origin that is not a loopback name.
 */
import { exports } from "cloudflare:workers";
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
});
