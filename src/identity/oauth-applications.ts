/**
 * Quay's OAuth applications (`data/model/oauth.py`): an organization registers one to get a
 * client id and secret, and users authorize it to mint OAuth tokens for them
 * (`POST /oauth/authorizeapp`). The secret is shown again to the organization's admins (Quay's
 * `app_view`), so it is kept sealed (AES-GCM), not hashed. Tokens an application minted carry its
 * id and die with it.
 */
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, oauthApplications, type OAuthApplication, type User } from "../db/schema";
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
export async function createApplication(db: Db, env: SecretEnv, org: User, fields: ApplicationFields): Promise<OAuthApplication> {
  const row = await db
    .insert(oauthApplications)
    .values({
      organizationId: org.id,
      clientId: randomString(CLIENT_ALPHABET, CLIENT_ID_LENGTH),
      sealedClientSecret: await encryptSecret(env, newSecret()),
      ...fields,
    })
    .returning()
    .get();
  return row;
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

/** Quay's update replaces every field; the client id and secret stay. */
export async function updateApplication(db: Db, app: OAuthApplication, fields: ApplicationFields): Promise<OAuthApplication> {
  return (await db.update(oauthApplications).set(fields).where(eq(oauthApplications.id, app.id)).returning().get())!;
}

/** Deletes the application and every token it minted, in one transaction (Quay: `recursive=True`). */
export async function deleteApplication(db: Db, app: OAuthApplication): Promise<void> {
  await db.batch([
    db.delete(accessTokens).where(eq(accessTokens.applicationId, app.id)),
    db.delete(oauthApplications).where(eq(oauthApplications.id, app.id)),
  ]);
}

/**
 * A new client secret (Quay's `reset_client_secret`). Tokens already minted stay valid, as in
 * Quay: the secret only matters to the authorization-code exchange, not to issued tokens.
 */
export async function resetClientSecret(db: Db, env: SecretEnv, app: OAuthApplication): Promise<OAuthApplication> {
  const sealed = await encryptSecret(env, newSecret());
  return (await db.update(oauthApplications).set({ sealedClientSecret: sealed }).where(eq(oauthApplications.id, app.id)).returning().get())!;
}

/**
 * Quay's `validate_redirect_uri`: the URI must start with the registered one (so an application
 * may add paths and query parameters), and an empty registered URI accepts nothing.
 * `localHandler` (`<origin>/oauth/localapp`, Quay's own token page) is always accepted.
 */
export function redirectUriAllowed(app: OAuthApplication, redirectUri: string, localHandler: string): boolean {
  if (!redirectUri) return false;
  if (redirectUri === localHandler) return true;
  return app.redirectUri !== "" && redirectUri.startsWith(app.redirectUri);
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
