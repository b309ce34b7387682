/**
 * What anyone may see of an account or an OAuth application by its name (Quay
 * `endpoints/api/user.py` `Users` and `endpoints/api/organization.py` `ApplicationInformation`):
 * the public part, plus what the viewer's own standing adds, as Quay's `user_view` and `org_view`
 * compute it from the caller's permissions.
 */
import type { Config } from "../config";
import type { Db } from "../db/client";
import { and, eq, isNull } from "drizzle-orm";
import { notFound } from "../errors/domain";
import { oauthApplications, users, type User } from "../db/schema";
import { organizationView, userOrganizationsView, type Viewer } from "./organization-views";
import { grants } from "./scopes";
import { avatar, isSuperuser, ownUserView } from "./users";

/**
 * Quay's `user_view(user)` as `viewer` sees it: `anonymous`, `username` and `avatar` for anyone;
 * the user themselves also gets their organizations with user:read (without the admin-only
 * `is_org_admin` and `preferred_namespace`) and their whole own view with user:admin (Quay's
 * UserAdminPermission); a superuser viewer (super:user) adds `super_user`, true only for themselves.
 */
export async function userInformationView(db: Db, config: Config, user: User, viewer: Viewer) {
  const self = viewer !== null && viewer.user.id === user.id;
  if (self && grants(viewer.scopes, "user:admin"))
    return ownUserView(config, user, await userOrganizationsView(db, user, viewer.scopes));
  const view: Record<string, unknown> = {
    anonymous: false,
    username: user.username,
    avatar: await avatar(user.username, user.email),
  };
  if (self && grants(viewer.scopes, "user:read")) {
    const organizations = await userOrganizationsView(db, user, viewer.scopes);
    view.organizations = organizations.map(({ name, avatar, can_create_repo, public: isPublic }) => ({
      name,
      avatar,
      can_create_repo,
      public: isPublic,
    }));
  }
  if (viewer && grants(viewer.scopes, "super:user") && isSuperuser(config, viewer.user.username))
    view.super_user = self;
  return view;
}

/**
 * Quay's `ApplicationInformation`: an application's name, description, homepage and avatar (drawn
 * from its avatar email, else its organization's), with its organization as `org_view(org, [])`
 * shows it (no teams listed); never its secret, redirect URI or avatar email.
 */
export async function applicationInformation(db: Db, clientId: string, viewer: Viewer) {
  const found = await db
    .select({ app: oauthApplications, org: users })
    .from(oauthApplications)
    .innerJoin(users, eq(users.id, oauthApplications.organizationId))
    // An organization being deleted is gone already, and so are its applications.
    .where(and(eq(oauthApplications.clientId, clientId), isNull(users.deletingSince)))
    .get();
  if (!found) throw notFound();
  const { app, org } = found;
  const organization = await organizationView(db, org, viewer);
  return {
    name: app.name,
    description: app.description,
    uri: app.applicationUri,
    avatar: await avatar(app.name, app.avatarEmail ?? org.email, "app"),
    organization: { ...organization, teams: {}, ordered_teams: [] },
  };
}
