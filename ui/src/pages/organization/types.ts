/** The organization as `GET /api/v1/organization/{orgname}` answers it (Quay's field names). */
export interface Organization {
  name: string;
  email?: string;
  avatar?: unknown;
  is_admin?: boolean;
  is_member?: boolean;
  teams?: Record<string, { name: string; role: string; member_count?: number; repo_count?: number }>;
  ordered_teams?: string[];
  tag_expiration_s?: number;
  quota_report?: { quota_bytes: number | null; configured_quota: number | null; percent_consumed?: number | null };
  [field: string]: unknown;
}

export interface OrganizationTabProps {
  org: Organization;
  orgname: string;
  reload: () => void;
}

/**
 * A namespace-agnostic screen (robots, auto-prune policies): the same on an organization's page
 * (`/api/v1/organization/{name}/…`) and on the signed-in user's own (`/api/v1/user/…`).
 */
export interface NamespaceProps {
  namespace: string;
  isOrganization: boolean;
}
