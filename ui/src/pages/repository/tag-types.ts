/** A row of Quay's `GET /api/v1/repository/{repository}/tag/` answer (Quay's field names). */
export interface Tag {
  name: string;
  manifest_digest: string;
  is_manifest_list: boolean;
  /** Compressed layer bytes; null for a manifest list (its children have sizes of their own). */
  size: number | null;
  last_modified: string;
  start_ts: number;
  expiration?: string;
  end_ts?: number;
  reversion?: boolean;
  immutable?: boolean;
  child_manifest_count?: number;
  present_child_count?: number;
}

export interface TagPage {
  tags: Tag[];
  page: number;
  has_additional: boolean;
}

/** Quay's manifest label (`GET …/manifest/{digest}/labels`). */
export interface Label {
  id: string;
  key: string;
  value: string;
  source_type: string;
  media_type: string;
}
