/**
 * Pages a mailed link opens (Quay `endpoints/web.py`) that the Worker answers itself rather than
 * the UI: `GET /authrepoemail?code=…` confirms an address for a repository's `email`
 * notifications (src/notifications/authorized-emails.ts) and says so in a small HTML page.
 */
import { Hono } from "hono";
import { readConfig } from "../config";
import { DomainError } from "../errors/domain";
import { confirmAuthorization } from "../notifications/authorized-emails";
import type { AppEnv } from "./app-env";

export const webRoutes = new Hono<AppEnv>();

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

const page = (status: 200 | 400 | 404, message: string) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>Wharf</title><p>${message}</p>\n`, {
    status,
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });

webRoutes.get("/authrepoemail", async (c) => {
  if (!readConfig(c.env).FEATURE_MAILING) return page(404, "Not found.");
  const code = c.req.query("code") ?? "";
  try {
    const { repository, email } = await confirmAuthorization(c.var.db, code.slice(0, 256));
    const link = `${c.var.publicOrigin.origin}/repository/${repository}`;
    return page(
      200,
      `Your e-mail address ${escapeHtml(email)} has been authorized to receive notifications for repository <a href="${escapeHtml(link)}">${escapeHtml(repository)}</a>.`,
    );
  } catch (err) {
    if (err instanceof DomainError) return page(400, escapeHtml(err.message));
    throw err;
  }
});
