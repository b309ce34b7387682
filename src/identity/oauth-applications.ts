/**
 * Quay's OAuth applications (`data/model/oauth.py`): an organization registers one to get a
 * client id and secret, and users authorize it to mint OAuth tokens for them
 * (`POST /oauth/authorizeapp`). The secret is shown again to the organization's admins (Quay's
 * `app_view`), so it is kept sealed (AES-GCM), not hashed. Tokens an application minted carry its
 * id and die with it.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, oauthApplications, type OAuthApplication, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { randomString } from "./passwords";
import { decryptSecret, encryptSecret } from "./secrets";

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** Quay's `random_string_generator`: upper-case letters and digits. */
const CLIENT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** Quay's column defaults: a 20-character client id, a 40-character secret. */
const CLIENT_ID_LENGTH = 20;
const CLIENT_SECRET_LENGTH = 40;

export interface ApplicationFields {
  name: string;
  description: string;
  applicationUri: string;
  redirectUri: string;
  avatarEmail: string | null;
}

const newSecret = () => randomString(CLIENT_ALPHABET, CLIENT_SECRET_LENGTH);

/**
 * Registers an application of `org`. 36^20 client ids make a collision with the unique index
 * practically impossible, so none is retried: it would surface as an internal error.
 */
export async function createApplication(
  db: Db,
  env: SecretEnv,
  org: User,
  fields: ApplicationFields,
  events: EventScope,
): Promise<OAuthApplication> {
  const clientId = randomString(CLIENT_ALPHABET, CLIENT_ID_LENGTH);
  const insert = db
    .insert(oauthApplications)
    .values({ organizationId: org.id, clientId, sealedClientSecret: await encryptSecret(env, newSecret()), ...fields })
    .returning();
  const event = applicationEvent("create_application", org, { clientId, name: fields.name }, events);
  const [rows] = (await commitWithEvents(db, events, [insert], [event])) as OAuthApplication[][];
  return rows![0]!;
}

type ApplicationKind =
  | "create_application"
  | "update_application"
  | "delete_application"
  | "reset_application_client_secret";

/** An event about an application, in its organization's namespace. */
function applicationEvent(
  kind: ApplicationKind,
  org: User,
  app: Pick<OAuthApplication, "clientId" | "name">,
  events: EventScope,
) {
  return namespaceEvent(kind, org.username, events.origin, { application: { clientId: app.clientId, name: app.name } });
}

export async function listApplications(db: Db, org: User): Promise<OAuthApplication[]> {
  return db
    .select()
    .from(oauthApplications)
    .where(eq(oauthApplications.organizationId, org.id))
    .orderBy(asc(oauthApplications.name), asc(oauthApplications.id))
    .all();
}

/** The application `clientId` of `org` (Quay's `lookup_application`): another org's is not found. */
export async function findApplication(db: Db, org: User, clientId: string): Promise<OAuthApplication | undefined> {
  return db
    .select()
    .from(oauthApplications)
    .where(and(eq(oauthApplications.organizationId, org.id), eq(oauthApplications.clientId, clientId)))
    .get();
}

/** Any organization's application (Quay's `get_application_for_client_id`), for authorizing it. */
export async function findApplicationByClientId(db: Db, clientId: string): Promise<OAuthApplication | undefined> {
  return db.select().from(oauthApplications).where(eq(oauthApplications.clientId, clientId)).get();
}

/**
 * Quay's update replaces every field; the client id and secret stay. Undefined when the
 * application was deleted meanwhile (no event then).
 */
export async function updateApplication(
  db: Db,
  org: User,
  app: OAuthApplication,
  fields: ApplicationFields,
  events: EventScope,
): Promise<OAuthApplication | undefined> {
  const event = applicationEvent("update_application", org, { clientId: app.clientId, name: fields.name }, events);
  const [row, updated] = await db.batch([
    conditionalEvent(db, event, existing(app)),
    db.update(oauthApplications).set(fields).where(eq(oauthApplications.id, app.id)).returning(),
  ]);
  if (written(row)) events.publish([event]);
  return updated[0];
}

const existing = (app: OAuthApplication) => sql`exists (select 1 from ${oauthApplications} where id = ${app.id})`;

/**
 * Deletes the application and every token it minted, in one transaction (Quay: `recursive=True`);
 * the tokens are part of the one change its event reports.
 */
export async function deleteApplication(db: Db, org: User, app: OAuthApplication, events: EventScope): Promise<void> {
  const event = applicationEvent("delete_application", org, app, events);
  const [row] = await db.batch([
    conditionalEvent(db, event, existing(app)),
    db.delete(accessTokens).where(eq(accessTokens.applicationId, app.id)),
    db.delete(oauthApplications).where(eq(oauthApplications.id, app.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/**
 * A new client secret (Quay's `reset_client_secret`). Tokens already minted stay valid, as in
 * Quay: the secret only matters to the authorization-code exchange, not to issued tokens.
 * Undefined when the application was deleted meanwhile.
 */
export async function resetClientSecret(
  db: Db,
  env: SecretEnv,
  org: User,
  app: OAuthApplication,
  events: EventScope,
): Promise<OAuthApplication | undefined> {
  const sealed = await encryptSecret(env, newSecret());
  const event = applicationEvent("reset_application_client_secret", org, app, events);
  const [row, updated] = await db.batch([
    conditionalEvent(db, event, existing(app)),
    db
      .update(oauthApplications)
      .set({ sealedClientSecret: sealed })
      .where(eq(oauthApplications.id, app.id))
      .returning(),
  ]);
  if (written(row)) events.publish([event]);
  return updated[0];
}

/**
 * Where `POST /oauth/authorizeapp` may send `app`'s token: the requested URI as parsed (its
 * `href`, so the URI that was checked is the URI redirected to), or null when refused.
 * Quay's `validate_redirect_uri` only asks that the URI start with the registered one, which let
 * `https://app.example.com.evil.example/` and `https://app.example.com@evil.example/` collect the
 * tokens of an application registered as `https://app.example.com` (issue #12). Here both URIs are
 * parsed (WHATWG URL) and compared as parsed: the same scheme, host and port (the host's case and a
 * default port do not matter), no userinfo, and a path equal to the registered one or below it on a
 * segment boundary (`/cb` allows `/cb` and `/cb/x`, not `/cbx`; a registered URI without a path
 * allows any). An empty registered URI allows nothing; `localHandler` (`<origin>/oauth/localapp`,
 * Quay's own token page) is allowed for every application.
 */
export function allowedRedirectUri(app: OAuthApplication, requested: string, localHandler: string): string | null {
  const wanted = parseRedirectUri(requested);
  if (!wanted) return null;
  if (wanted.href === new URL(localHandler).href) return wanted.href;
  const registered = app.redirectUri ? parseRedirectUri(app.redirectUri) : null;
  return registered && within(registered, wanted) ? wanted.href : null;
}

/**
 * Refused as written: whitespace and control characters (the URL parser strips or drops them, so
 * the string compared would not be the string sent), backslashes (special-scheme parsers read one
 * as a slash, others as a character of the host or path: the two would disagree on where the host
 * ends) and a fragment (RFC 6749 §3.1.2: a redirection endpoint has none; the token goes there).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it refuses.
const UNSAFE_CHARACTERS = /[\s\x00-\x1f\x7f\\#]/;
/**
 * Encoded slashes, backslashes and dots in the path: the parser leaves them, but a server that
 * decodes them walks other segments than the ones compared (`/cb/..%2Fadmin`).
 */
const ENCODED_SEPARATORS = /%(2f|5c|2e)/i;

function parseRedirectUri(text: string): URL | null {
  if (UNSAFE_CHARACTERS.test(text) || !URL.canParse(text)) return null;
  const url = new URL(text);
  if (url.username || url.password || !url.host || ENCODED_SEPARATORS.test(url.pathname)) return null;
  return url;
}

/** Whether `wanted` is `registered` or below it (see {@link allowedRedirectUri}). */
function within(registered: URL, wanted: URL): boolean {
  // Non-special schemes (an app's `com.example.app://`) keep the host's case; special ones lower it.
  if (wanted.protocol !== registered.protocol || wanted.host.toLowerCase() !== registered.host.toLowerCase())
    return false;
  const base = registered.pathname;
  const below =
    base === "" ||
    base === "/" ||
    wanted.pathname === base ||
    wanted.pathname.startsWith(base.endsWith("/") ? base : `${base}/`);
  // A registered query stays the query's start; the application may add parameters after it.
  const query =
    registered.search === "" ||
    wanted.search === registered.search ||
    wanted.search.startsWith(`${registered.search}&`);
  return below && query;
}

/**
 * Quay's `app_view` as an organization admin sees it (every caller of the application API is one):
 * the secret unsealed. A secret sealed under another WHARF_SECRET_KEY shows as null.
 */
export async function appView(env: SecretEnv, app: OAuthApplication) {
  return {
    name: app.name,
    description: app.description,
    application_uri: app.applicationUri,
    client_id: app.clientId,
    client_secret: await decryptSecret(env, app.sealedClientSecret),
    redirect_uri: app.redirectUri,
    avatar_email: app.avatarEmail,
  };
}
