/**
 * The live event stream (Wharf's own; README "Live event stream"): `GET /api/v1/repository/
 * {repository}/events` and `GET /api/v1/organization/{orgname}/events` answer Server-Sent Events
 * carrying the events of docs/events.md as they commit (src/events/live-sse.ts).
 *
 * Access: a repository's stream for whoever may read the repository (others get 404, as for any
 * private repository); an organization's for its members, each event shown only to those who may
 * read its repository, and events about no repository (teams, robots, the organization itself)
 * to its admins only, as Quay shows an organization's logs to its admins. The client address
 * (`ip`) is shown to admins only. The credential and the access are read again every minute while
 * the stream is open (a token lives five minutes): a revoked reader's stream ends.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { RegistryEvent } from "../../events/catalogue";
import { openEventStream, type StreamAccess, type StreamRequest } from "../../events/live-sse";
import { findOrganization, organizationRole } from "../../identity/organizations";
import { repositoryAccess } from "../../identity/permissions";
import { namespaceOf } from "../../registry/repository-name";
import { authenticateApi, callerWith } from "../../middleware/api-caller";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { readableRepository, reader, subjectOf } from "./repository-access";
import { parseOrInvalid } from "./validate";
import { loggableError } from "../../lib/loggable-error";

export const eventRoutes = new Hono<AppEnv>();

// The name must hold a slash: `/repository/acme/events` is the repository `acme/events` (getRepo),
// not the stream of a one-component `acme`; a library repository's stream is `…/library/x/events`.
const REPOSITORY = "/repository/:repository{.+/.+}/events";
const ORGANIZATION = "/organization/:orgname/events";

/** `Last-Event-ID`: what the client saw last (EventSource sends it when it reconnects). */
const lastEventIdSchema = z.string().min(1).max(100).optional();
const lastEventIdOf = (c: Context<AppEnv>) => parseOrInvalid(lastEventIdSchema, c.req.header("Last-Event-ID"));

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-store",
  // Proxies that buffer (nginx) would hold events back.
  "X-Accel-Buffering": "no",
};

/** The event without the client address, for subscribers who do not administer its subject. */
const withoutAddress = (event: RegistryEvent): RegistryEvent => ({ ...event, ip: null });

/**
 * The SSE answer. A stream object that cannot take the subscription (overloaded, being reset) is a
 * 503 the client retries, never a 500: EventSource reconnects on its own.
 */
async function streamResponse(c: Context<AppEnv>, request: StreamRequest): Promise<Response> {
  // HEAD (which hono routes to GET handlers) checks access only: a stream nobody reads would stay
  // subscribed until its keep-alives backed up.
  if (c.req.method === "HEAD") return new Response(null, { headers: SSE_HEADERS });
  let body: ReadableStream<Uint8Array>;
  try {
    body = await openEventStream(c.env, request);
  } catch (err) {
    console.error(JSON.stringify({ msg: "event stream subscription failed", err: loggableError(err) }));
    throw new ApiError("service_unavailable", "The event stream is unavailable; retry shortly", {
      headers: { "Retry-After": "3" },
    });
  }
  return new Response(body, { headers: SSE_HEADERS });
}

/** Reads the request's credential again, as the middleware did; false when it no longer holds. */
async function reauthenticate(c: Context<AppEnv>): Promise<boolean> {
  try {
    await authenticateApi()(c, async () => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Whether the caller may read the repository of the path (and its role there makes it admin). */
async function repositoryStanding(c: Context<AppEnv>): Promise<{ id: number; name: string; admin: boolean }> {
  const repository = await readableRepository(c);
  const role = await repositoryAccess(c.var.db, subjectOf(reader(c))).role(repository.name);
  return { id: repository.id, name: repository.name, admin: role === "admin" };
}

documented("GET", REPOSITORY, {
  operationId: "streamRepositoryEvents",
  summary: "The repository's events as they happen (Server-Sent Events; Last-Event-ID resumes).",
  scope: "repo:read",
});
eventRoutes.get(REPOSITORY, async (c) => {
  const lastEventId = lastEventIdOf(c);
  let standing = await repositoryStanding(c);
  const access: StreamAccess = {
    async recheck() {
      if (!(await reauthenticate(c))) return false;
      const now = await repositoryStanding(c).catch(() => null);
      if (now?.id !== standing.id) return false;
      standing = now;
      return true;
    },
    view: async (event) => (standing.admin ? event : withoutAddress(event)),
  };
  const namespace = namespaceOf(standing.name);
  return streamResponse(c, { namespace, repositoryId: standing.id, lastEventId, access });
});

/** The caller (holding repo:read), the organization and the caller's role in it; 403 for non-members. */
async function memberStanding(c: Context<AppEnv>) {
  const caller = callerWith(c.var.caller, "repo:read");
  const org = await findOrganization(c.var.db, c.req.param("orgname")!);
  const role = org ? await organizationRole(c.var.db, caller.id, org.username) : null;
  if (!org || !role) throw new ApiError("insufficient_scope");
  return { caller, org, admin: role === "admin" };
}

documented("GET", ORGANIZATION, {
  operationId: "streamOrganizationEvents",
  summary: "The organization's events as they happen, those its member may see (Server-Sent Events).",
  scope: "repo:read",
});
eventRoutes.get(ORGANIZATION, async (c) => {
  const lastEventId = lastEventIdOf(c);
  let standing = await memberStanding(c);
  // Who may read which repository, asked once per repository per check period.
  let readable = repositoryAccess(c.var.db, subjectOf(standing.caller));
  const access: StreamAccess = {
    async recheck() {
      if (!(await reauthenticate(c))) return false;
      const now = await memberStanding(c).catch(() => null);
      if (now?.org.id !== standing.org.id) return false;
      standing = now;
      readable = repositoryAccess(c.var.db, subjectOf(standing.caller));
      return true;
    },
    async view(event) {
      if (standing.admin) return event;
      if (!event.repository) return null;
      const actions = await readable.actions(event.repository.name);
      return actions.includes("pull") ? withoutAddress(event) : null;
    },
  };
  return streamResponse(c, { namespace: standing.org.username, lastEventId, access });
});
