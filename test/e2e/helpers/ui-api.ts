/**
 * The API beside the screens in the browser tests, to set up what a screen needs or check what it
 * did: with the page's session as the UI itself calls it (its cookie and, on a change, the
 * session's CSRF token), so the test acts as the signed-in person and not as an admin token.
 * Calls with the superuser's token are ./api-calls.ts's `apiCall`.
 */
import type { APIResponse, Page } from "playwright-core";

/** `method /api/v1{path}` with the page's session (relative to its context's base URL); the response, whatever its status. */
export async function sessionRequest(page: Page, method: string, path: string, body?: unknown): Promise<APIResponse> {
  const headers: Record<string, string> = {};
  // A read needs no CSRF token, and the UI sends none.
  if (method !== "GET") {
    const { csrf_token } = (await (await page.request.get("/csrf_token")).json()) as { csrf_token: string };
    headers["X-CSRF-Token"] = csrf_token;
  }
  return page.request.fetch(`/api/v1${path}`, { method, headers, data: body });
}

/** The same, throwing on an error status; the answer's JSON (null when it is empty). */
export async function sessionApi(page: Page, method: string, path: string, body?: unknown): Promise<any> {
  const res = await sessionRequest(page, method, path, body);
  const text = await res.text();
  if (res.status() >= 300) throw new Error(`${method} ${path}: ${res.status()} ${text}`);
  return text ? JSON.parse(text) : null;
}
