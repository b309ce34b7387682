/** The repository as `GET /api/v1/repository/{namespace}/{name}` answers it (Quay's field names). */
export interface Repository {
  namespace: string;
  name: string;
  kind?: string;
  description?: string | null;
  is_public: boolean;
  is_organization?: boolean;
  is_starred?: boolean;
  can_write?: boolean;
  can_admin?: boolean;
  state?: "NORMAL" | "READ_ONLY" | "MIRROR" | string;
  tag_expiration_s?: number;
  [field: string]: unknown;
}

/** What every repository tab is given: the repository, its full name and a way to re-read it. */
export interface RepositoryTabProps {
  repo: Repository;
  /** `namespace/name`. */
  repository: string;
  reload: () => void;
}
