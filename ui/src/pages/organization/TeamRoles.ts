/** Quay's team roles and repository roles, with the words its UI shows for them; the teams of an organization. */
import type { Organization } from "./types";

export const TEAM_ROLES = [
  { value: "member", label: "Member" },
  { value: "creator", label: "Creator" },
  { value: "admin", label: "Admin" },
];

/** What each team role lets its members do (Quay's team-role help). */
export const TEAM_ROLE_HELP =
  "Member: inherits the team's repository permissions. Creator: also creates repositories. Admin: administers the whole organization.";

export const REPOSITORY_ROLES = [
  { value: "read", label: "Read" },
  { value: "write", label: "Write" },
  { value: "admin", label: "Admin" },
];

export const roleLabel = (role: string) =>
  [...TEAM_ROLES, ...REPOSITORY_ROLES].find((r) => r.value === role)?.label ?? role;

/** A team as `GET /api/v1/organization/{org}` lists it (Quay's `teams` map). */
export interface TeamSummary {
  name: string;
  role: string;
  description?: string;
  can_view?: boolean;
  member_count?: number;
  repo_count?: number;
}

/** The organization's teams in Quay's order (`ordered_teams`: creation order). */
export function teamsOf(org: Organization): TeamSummary[] {
  const byName = (org.teams ?? {}) as Record<string, TeamSummary>;
  return (org.ordered_teams ?? Object.keys(byName)).map((name) => byName[name]).filter((t): t is TeamSummary => !!t);
}
