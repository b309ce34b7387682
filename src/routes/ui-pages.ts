/**
 * The web UI's pages (ui/dist, built by `npm run build:ui`), served from the ASSETS binding with the
 * headers a browser should enforce on them. Every path that is not one of the Worker's surfaces
 * comes here (wrangler.toml's `run_worker_first` sends all but the hashed bundles in /assets/ to
 * the Worker), so the single-page fallback's HTML carries them too.
 */
import type { Context } from "hono";
import type { AppEnv } from "./app-env";
import { plainError } from "./surfaces";

/**
 * The UI loads its own scripts and styles only (no inline script: the OAuth token page's script
 * is a file, ui/public/oauth/localapp.js), talks only to its own origin, and is never framed
 * (clickjacking of the OAuth consent and the settings). Images may come from the avatars' hosts.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** One year, as the HSTS preload list asks; only over https and never for a loopback name. */
const HSTS = "max-age=31536000; includeSubDomains";
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

/** The security headers for a UI response served at `origin` (`scheme://host[:port]`). */
export function uiSecurityHeaders(origin: string): Record<string, string> {
  const url = new URL(origin);
  const headers: Record<string, string> = {
    "Content-Security-Policy": UI_CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
  };
  if (url.protocol === "https:" && !LOOPBACK.test(url.host)) headers["Strict-Transport-Security"] = HSTS;
  return headers;
}

/**
 * `request` answered from the UI's assets (a file, else the app's index.html: the single-page
 * fallback is the Worker's, wrangler.toml's `not_found_handling` is "none"), with the security
 * headers added.
 */
export async function serveUi(c: Context<AppEnv>, request: Request = c.req.raw): Promise<Response> {
  // Pages are only read. The assets binding answers another method with a bodiless 405; the
  // refusal is said in the plain surface's JSON instead, as every other refusal of the Worker is
  // (a `PUT /filedrop/%2e%2e` is one: the URL parser makes it `PUT /`).
  if (request.method !== "GET" && request.method !== "HEAD") {
    return plainError(405, "Method Not Allowed", { Allow: "GET, HEAD" });
  }
  let answer = await c.env.ASSETS.fetch(request);
  if (answer.status === 404 && (request.method === "GET" || request.method === "HEAD")) {
    const index = new Request(new URL("/", request.url), { method: request.method, headers: request.headers });
    answer = await c.env.ASSETS.fetch(index);
  }
  const response = new Response(answer.body, answer);
  for (const [name, value] of Object.entries(uiSecurityHeaders(c.var.publicOrigin.origin))) {
    response.headers.set(name, value);
  }
  return response;
}
