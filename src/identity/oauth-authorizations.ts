/**
 * The OAuth grants a user gave applications (Quay `GET|DELETE /api/v1/user/authorizations…`,
 * `data/model/oauth.py` `list_access_tokens_for_user`): each OAuth token minted through an
 * organization's application (`POST /oauth/authorizeapp`) is one authorization, named by its uuid.
 * Revoking one deletes the token, so it stops working at once. Tokens minted without an
 * application (`POST /api/v1/user/initialize`) are no application's grant and are not listed.
 */
import { and, asc, eq, gt, isNotNull, isNull, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { notFound } from "../errors/domain";
import type { Db } from "../db/client";
import { accessTokens, oauthApplications, users, type AccessToken, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { conditionalEvent, namespaceEvent, written } from "./account-events";
import { parseScopes, SCOPES, type Scope } from "./scopes";
import { avatar } from "./users";

/** Quay's `auth/scopes.py`: each scope's icon, whether it is dangerous, and its description. */
const SCOPE_DETAILS: Record<Scope, { icon: string; dangerous: boolean; description: string }> = {
  "repo:read": {
    icon: "fa-hdd-o",
    dangerous: false,
    description:
      "This application will be able to view and pull all repositories visible to the granting user or robot account",
  },
  "repo:write": {
    icon: "fa-hdd-o",
    dangerous: false,
    description:
      "This application will be able to view, push and pull to all repositories to which the granting user or robot account has write access",
  },
  "repo:admin": {
    icon: "fa-hdd-o",
    dangerous: false,
    description:
      "This application will have administrator access to all repositories to which the granting user or robot account has access",
  },
  "repo:create": {
    icon: "fa-plus",
    dangerous: false,
    description:
      "This application will be able to create repositories in to any namespaces that the granting user or robot account is allowed to create repositories",
  },
  "user:read": {
    icon: "fa-user",
    dangerous: false,
    description: "This application will be able to read user information such as username and email address.",
  },
  "user:admin": {
    icon: "fa-gear",
    dangerous: true,
    description:
      "This application will be able to administer your account including creating robots and granting them permissions to your repositories. You should have absolute trust in the requesting application before granting this permission.",
  },
  "org:admin": {
    icon: "fa-gear",
    dangerous: true,
    description:
      "This application will be able to administer your organizations including creating robots, creating teams, adjusting team membership, and changing billing settings. You should have absolute trust in the requesting application before granting this permission.",
  },
  "super:user": {
    icon: "fa-street-view",
    dangerous: true,
    description:
      "This application will be able to administer your installation including managing users, managing organizations and other features found in the superuser panel. You should have absolute trust in the requesting application before granting this permission.",
  },
};

/** Quay's `get_scope_information`: `[{title, scope, description, icon, dangerous}]` of a scope string. */
export function scopeInformation(scopeText: string) {
  return (parseScopes(scopeText) ?? []).map((scope) => ({ title: SCOPES[scope], scope, ...SCOPE_DETAILS[scope] }));
}

const organizations = alias(users, "organizations");

export interface Authorization {
  token: AccessToken;
  application: typeof oauthApplications.$inferSelect;
  organization: User;
}

/** The user's live OAuth tokens minted by an application, optionally only the one named `uuid`. */
function authorizationsOf(db: Db, user: User, uuid?: string) {
  return db
    .select({ token: accessTokens, application: oauthApplications, organization: organizations })
    .from(accessTokens)
    .innerJoin(oauthApplications, eq(oauthApplications.id, accessTokens.applicationId))
    .innerJoin(organizations, eq(organizations.id, oauthApplications.organizationId))
    .where(
      and(
        eq(accessTokens.userId, user.id),
        eq(accessTokens.kind, "oauth"),
        isNotNull(accessTokens.uuid),
        or(isNull(accessTokens.expiresAt), gt(accessTokens.expiresAt, clock.now())),
        isNull(organizations.deletingSince),
        uuid === undefined ? undefined : eq(accessTokens.uuid, uuid),
      ),
    )
    .orderBy(asc(accessTokens.id));
}

export async function listAuthorizations(db: Db, user: User): Promise<Authorization[]> {
  return authorizationsOf(db, user).all();
}

/** The authorization `uuid` of `user`; another user's is not found (Quay's `lookup_access_token_for_user`). */
export async function findAuthorization(db: Db, user: User, uuid: string): Promise<Authorization> {
  const found = await authorizationsOf(db, user, uuid).get();
  if (!found) throw notFound();
  return found;
}

/**
 * Revokes `authorization` of `user`: its token is deleted, with `revoke_oauth_api_token` (Quay logs
 * nothing here; Wharf reports every change). A token revoked meanwhile writes no event.
 */
export async function revokeAuthorization(
  db: Db,
  user: User,
  authorization: Authorization,
  events: EventScope,
): Promise<void> {
  const { token, application } = authorization;
  const event = namespaceEvent("revoke_oauth_api_token", user.username, events.origin, {
    application: { clientId: application.clientId, name: application.name },
    uuid: token.uuid!,
    scope: token.scopes,
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${accessTokens} where id = ${token.id})`),
    db.delete(accessTokens).where(eq(accessTokens.id, token.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/** Quay's `authorization_view`. */
export async function authorizationView({ token, application, organization }: Authorization) {
  return {
    application: await authorizedApplicationView(application, organization),
    scopes: scopeInformation(token.scopes),
    uuid: token.uuid!,
  };
}

/**
 * The `application` of Quay's `authorization_view` and `assigned_authorization_view`
 * (./oauth-assignments.ts), which alone shows the `clientId`, after the name.
 */
export async function authorizedApplicationView(
  application: Authorization["application"],
  organization: User,
  show: { clientId?: boolean } = {},
) {
  return {
    name: application.name,
    ...(show.clientId ? { clientId: application.clientId } : {}),
    description: application.description,
    url: application.applicationUri,
    avatar: await avatar(application.name, application.avatarEmail ?? organization.email, "app"),
    organization: {
      name: organization.username,
      avatar: await avatar(organization.username, organization.email, "org"),
    },
  };
}
