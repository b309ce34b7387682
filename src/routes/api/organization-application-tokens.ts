/**
 * /api/v1/organization/{orgname}/applications/{client_id}/tokens: tokens of an organization's
 * OAuth application (Quay `endpoints/api/organization_application_tokens.py`;
 * src/identity/organization-app-tokens.ts). The org:admin scope and an admin of the organization,
 * as Quay's AdministerOrganizationPermission; others get 403, a foreign client id 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "./errors";
import { callerWith, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { administeredApp } from "./applications";
import { documented } from "./openapi";
import { decodePageToken, encodePageToken } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";
import type { AppEnv } from "../app-env";
import type { ApiCaller } from "../../identity/callers";
import { grants, type Scope } from "../../identity/scopes";
import {
  applicationTokenView,
  createApplicationToken,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  listApplicationTokens,
  normalizeScopes,
  revokeApplicationToken,
  TOKENS_PER_PAGE,
} from "../../identity/organization-app-tokens";

export const organizationApplicationTokenRoutes = new Hono<AppEnv>();

const TOKENS = "/organization/:orgname/applications/:client_id/tokens";
organizationApplicationTokenRoutes.use(TOKENS, requireScope("org:admin"));
organizationApplicationTokenRoutes.use(`${TOKENS}/*`, requireScope("org:admin"));

const listQuery = z.object({ next_page: z.string().optional() });

documented("GET", TOKENS, {
  operationId: "listOrganizationApplicationTokens",
  summary: "The tokens an organization's OAuth application holds, without their values.",
  scope: "org:admin",
  query: listQuery,
});
/** Quay's `{"tokens": [...]}`, fifty at a time, newest first, with `next_page` while more remain. */
organizationApplicationTokenRoutes.get(TOKENS, async (c) => {
  const { app } = await administeredApp(c);
  const list = `application-tokens:${app.id}`;
  const before = await decodePageToken(c.env, list, parseOrInvalid(listQuery, c.req.query()).next_page);
  const page = await listApplicationTokens(c.var.db, app, before);
  const answer: Record<string, unknown> = { tokens: page.map((listed) => applicationTokenView(listed)) };
  const last = page.at(-1);
  if (page.length === TOKENS_PER_PAGE && last) answer.next_page = await encodePageToken(c.env, list, last.token.id);
  return c.json(answer);
});

/** Quay's NewToken: `scope` required; `expiration` in seconds, at least 1 (default ten years). */
const createBody = z.object({
  scope: z.string().max(1024),
  expiration: z
    .number()
    .min(1, "'expiration' must be a positive number of seconds")
    // A century: far past Quay's default, and still a date (Quay overflows and fails beyond its own).
    .max(10 * DEFAULT_TOKEN_EXPIRATION_SECONDS, "'expiration' must be at most a century of seconds")
    .optional(),
});

/**
 * Differs from Quay: a token may hold only scopes the caller's own credential holds (a browser
 * session holds them all). Quay lets an org:admin token mint, say, a super:user token of the same
 * person; here a leaked narrow token cannot widen itself.
 */
function checkWithinCaller(caller: ApiCaller, wanted: readonly Scope[]) {
  const held = caller.kind === "user" ? caller.scopes : [];
  const beyond = wanted.filter((scope) => !grants(held, scope));
  if (beyond.length > 0)
    throw new ApiError("insufficient_scope", `Cannot grant scopes the caller does not hold: ${beyond.join(" ")}`);
}

documented("POST", TOKENS, {
  operationId: "createOrganizationApplicationToken",
  summary: "Mints an OAuth token of the application for the caller; its value is shown only here.",
  scope: "org:admin",
  body: createBody,
});
organizationApplicationTokenRoutes.post(TOKENS, async (c) => {
  const { org, app } = await administeredApp(c);
  const creator = callerWith(c.var.caller, "org:admin");
  const body = await jsonBody(c, createBody);
  const scopes = normalizeScopes(body.scope);
  checkWithinCaller(c.var.caller, scopes);
  const grant = { scopes, expirationS: Math.trunc(body.expiration ?? DEFAULT_TOKEN_EXPIRATION_SECONDS) };
  const { token, plain } = await createApplicationToken(c.var.db, org, app, creator, grant, requestEvents(c));
  return c.json(applicationTokenView({ token, username: creator.username }, plain));
});

documented("DELETE", `${TOKENS}/:token_uuid`, {
  operationId: "deleteOrganizationApplicationToken",
  summary: "Revokes one token of the application.",
  scope: "org:admin",
  status: 204,
});
organizationApplicationTokenRoutes.delete(`${TOKENS}/:token_uuid`, async (c) => {
  const { org, app } = await administeredApp(c);
  const uuid = parseOrInvalid(z.string().max(64), c.req.param("token_uuid"));
  if (!(await revokeApplicationToken(c.var.db, org, app, uuid, requestEvents(c)))) throw notFound();
  return c.body(null, 204);
});
