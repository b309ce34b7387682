/**
 * Quay's URLs, each to its screen (README "Web UI"). Every screen is its own lazily loaded chunk,
 * so the first screen loads only the shell and itself. `signedIn` screens send a visitor to
 * `/signin?redirect=…` and back after signing in.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

type Screen = LazyExoticComponent<ComponentType<{ params: Record<string, string> }>>;

export interface Route {
  pattern: string;
  screen: Screen;
  signedIn?: boolean;
  /** Shown without the app's frame (sign-in and the OAuth consent stand alone). */
  bare?: boolean;
}

const screen = (load: () => Promise<{ default: ComponentType<{ params: Record<string, string> }> }>) => lazy(load);

export const ROUTES: Route[] = [
  { pattern: "/signin", screen: screen(() => import("./pages/signin/SignIn")), bare: true },
  { pattern: "/createaccount", screen: screen(() => import("./pages/signin/CreateAccount")), bare: true },
  { pattern: "/oauth/authorize", screen: screen(() => import("./pages/oauth/Authorize")), bare: true },
  { pattern: "/repository", screen: screen(() => import("./pages/repository/RepositoryList")) },
  { pattern: "/repository/*repository", screen: screen(() => import("./pages/repository/RepositoryPage")) },
  { pattern: "/new", screen: screen(() => import("./pages/repository/CreateRepository")), signedIn: true },
  {
    pattern: "/organization",
    screen: screen(() => import("./pages/organization/OrganizationList")),
    signedIn: true,
  },
  {
    pattern: "/organizations/new",
    screen: screen(() => import("./pages/organization/CreateOrganization")),
    signedIn: true,
  },
  { pattern: "/organization/:orgname", screen: screen(() => import("./pages/organization/OrganizationPage")) },
  {
    pattern: "/organization/:orgname/teams/:teamname",
    screen: screen(() => import("./pages/organization/TeamPage")),
    signedIn: true,
  },
  { pattern: "/user/:username", screen: screen(() => import("./pages/account/UserPage")) },
  { pattern: "/superuser", screen: screen(() => import("./pages/superuser/SuperuserPanel")), signedIn: true },
];
