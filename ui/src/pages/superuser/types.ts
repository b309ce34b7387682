/** The superuser API's answers, in Quay's field names (src/routes/api/superuser*.ts, quota-superuser.ts). */

/** Quay's `quota_view`. */
export interface QuotaView {
  id: number | null;
  limit_bytes: number;
  limit: string;
  default_config: boolean;
  limits: { id: number; type: string; limit_percent: number }[];
  default_config_exists: boolean;
}

/** Quay's namespace `quota_report`: the bytes held and the bytes allowed (null: no limit). */
export interface QuotaReport {
  quota_bytes: number;
  configured_quota: number | null;
}

/** With FEATURE_QUOTA_MANAGEMENT the listings carry each namespace's quota and usage. */
interface QuotaFields {
  quotas?: QuotaView[];
  quota_report?: QuotaReport;
}

export interface SuperuserUser extends QuotaFields {
  kind: "user";
  username: string;
  email: string | null;
  verified: boolean;
  enabled: boolean;
  super_user: boolean;
  avatar?: { color: string; name: string };
}

export interface SuperuserOrganization extends QuotaFields {
  name: string;
  email: string | null;
  avatar?: { color: string; name: string };
}

/** `POST /superuser/users/`: the generated password, shown once. */
export interface CreatedUser {
  username: string;
  email: string;
  password: string;
}

export interface RegistrySize {
  size_bytes: number;
  /** Milliseconds since the epoch; null before the first calculation. */
  last_ran: number | null;
  queued: boolean;
  running: boolean;
}

export interface GlobalMessage {
  uuid: string;
  content: string;
  media_type: "text/plain" | "text/markdown";
  severity: "info" | "warning" | "error";
}
