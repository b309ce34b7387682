/**
 * Quay's log export (endpoints/api/logs.py ExportUserLogs, ExportOrgLogs, ExportRepositoryLogs):
 * `POST …/exportlogs` with `starttime` / `endtime` (in the query, as Quay reads them, or the body)
 * and `callback_url` or `callback_email` answers `{"export_id"}` at once; the file is built and
 * delivered in the background (src/events/logs-export.ts). Access as the logs listings
 * (./logs.ts): the user's own namespace (user:admin), an organization's admins (org:admin), a
 * repository's admins (repo:admin). Quay's refusals: a callback URL not http(s) is 400 "Invalid
 * callback URL", an e-mail without `@` 400 "Invalid callback e-mail", an end before the start 400,
 * each logged as `export_logs_failure`; Wharf also refuses a request with neither callback (400),
 * and a second export of a namespace while one runs (409). FEATURE_LOG_EXPORT off: 404.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { DomainError, notFound } from "../../errors/domain";
import { type ExportSubject, refuseExport, startExport } from "../../events/logs-export";
import { logWindow } from "../../events/logs-query";
import { findUser } from "../../identity/users";
import { mailMessageSchema } from "../../mail/message";
import { clock } from "../../lib/clock";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { Scope } from "../../identity/scopes";
import type { AppEnv } from "../app-env";
import { administeredRepository } from "./logs";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { jsonBody, parseOrInvalid } from "./validate";

export const logExportRoutes = new Hono<AppEnv>();

const windowQuery = z.object({ starttime: z.string().optional(), endtime: z.string().optional() });
const exportBody = z.object({
  callback_url: z.string().max(2048).optional(),
  callback_email: z.string().max(255).optional(),
  starttime: z.string().optional(),
  endtime: z.string().optional(),
});

async function exportLogs(c: Context<AppEnv>, subject: ExportSubject) {
  if (!readConfig(c.env).FEATURE_LOG_EXPORT) throw notFound();
  const query = parseOrInvalid(windowQuery, c.req.query());
  const body = await jsonBody(c, exportBody);
  const events = requestEvents(c);
  const callbacks = { callbackUrl: body.callback_url || null, callbackEmail: body.callback_email || null };
  const refuse = (error: string) => refuseExport(c.var.db, subject, callbacks, error, events);
  const url = callbacks.callbackUrl;
  if (url !== null && !url.startsWith("https://") && !url.startsWith("http://")) return refuse("Invalid callback URL");
  const email = callbacks.callbackEmail;
  if (email !== null && !mailMessageSchema.shape.to.safeParse(email).success) return refuse("Invalid callback e-mail");
  if (url === null && email === null) return refuse("A callback_url or a callback_email is required");
  let window: ReturnType<typeof logWindow>;
  try {
    window = logWindow(query.starttime ?? body.starttime, query.endtime ?? body.endtime, clock.now());
  } catch (err) {
    if (err instanceof DomainError) return refuse(err.message);
    throw err;
  }
  const request = { window, ...callbacks, origin: c.var.publicOrigin.origin };
  return c.json({ export_id: await startExport(c.env, subject, request, events) });
}

const described = (operationId: string, summary: string, scope: Scope) => ({
  operationId,
  summary,
  scope,
  query: windowQuery,
  body: exportBody,
});

documented(
  "POST",
  "/user/exportlogs",
  described("exportUserLogs", "Queues an export of the signed-in user's logs.", "user:admin"),
);
logExportRoutes.post("/user/exportlogs", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  return exportLogs(c, { namespace: { id: user.id, name: user.username }, repository: null });
});

documented(
  "POST",
  "/organization/:orgname/exportlogs",
  described("exportOrgLogs", "Queues an export of an organization's logs.", "org:admin"),
);
logExportRoutes.post("/organization/:orgname/exportlogs", async (c) => {
  const { org } = await administeredOrganization(c);
  return exportLogs(c, { namespace: { id: org.id, name: org.username }, repository: null });
});

documented(
  "POST",
  "/repository/:repository{.+}/exportlogs",
  described("exportRepoLogs", "Queues an export of a repository's logs.", "repo:admin"),
);
logExportRoutes.post("/repository/:repository{.+}/exportlogs", async (c) => {
  const repository = await administeredRepository(c);
  const namespace = await findUser(c.var.db, repository.namespace);
  if (!namespace) throw notFound();
  return exportLogs(c, {
    namespace: { id: namespace.id, name: namespace.username },
    repository: { id: repository.id, name: repository.name },
  });
});
