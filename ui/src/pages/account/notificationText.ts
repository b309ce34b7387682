/**
 * What an in-app notification says and where it leads, from Quay's `kind` and `metadata` (the
 * event's payload: `repository`, `namespace`, `updated_tags`, `tags`…), as Quay's notification
 * list words each kind.
 */
export interface UserNotification {
  id: string;
  organization: string | null;
  kind: string;
  created: string;
  metadata: Record<string, unknown>;
  dismissed: boolean;
}

const text = (value: unknown) => (typeof value === "string" ? value : "");
const list = (value: unknown) => (Array.isArray(value) ? value.filter((v) => typeof v === "string").join(", ") : "");

const BUILD: Record<string, string> = {
  build_queued: "queued",
  build_start: "started",
  build_success: "completed",
  build_failure: "failed",
  build_cancelled: "cancelled",
};
const MIRROR: Record<string, string> = {
  repo_mirror_sync_started: "started",
  repo_mirror_sync_success: "succeeded",
  repo_mirror_sync_failed: "failed",
};

export function describeNotification(note: UserNotification): string {
  const m = note.metadata ?? {};
  const repo = text(m.repository);
  const namespace = text(m.namespace);
  switch (note.kind) {
    case "repo_push": {
      const tags = list(m.updated_tags);
      return tags ? `Repository ${repo} has been pushed with tags ${tags}` : `Repository ${repo} has been pushed`;
    }
    case "repo_image_expiry": {
      const tags = list(m.tags);
      return `Tags of repository ${repo} expire soon${tags ? `: ${tags}` : ""}`;
    }
    case "vulnerability_found":
      return `A vulnerability was found in repository ${repo}`;
    case "quota_warning":
      return `Namespace ${namespace} is close to its storage quota`;
    case "quota_error":
      return `Namespace ${namespace} has reached its storage quota`;
  }
  if (BUILD[note.kind]) return `A build of repository ${repo} ${BUILD[note.kind]}`;
  if (MIRROR[note.kind]) return `Mirroring of repository ${repo} ${MIRROR[note.kind]}`;
  const about = repo || namespace || note.organization || "";
  return `${note.kind.replaceAll("_", " ")}${about ? ` (${about})` : ""}`;
}

/** The page of the thing notified: the repository, else the namespace; null when neither is named. */
export function notificationLink(note: UserNotification): string | null {
  const m = note.metadata ?? {};
  const repo = text(m.repository);
  if (repo.includes("/")) {
    const path = repo.split("/").map(encodeURIComponent).join("/");
    return note.kind.startsWith("repo_mirror") ? `/repository/${path}?tab=mirroring` : `/repository/${path}`;
  }
  const namespace = text(m.namespace) || note.organization || "";
  if (!namespace) return null;
  const quota = note.kind.startsWith("quota_") ? "?tab=quota" : "";
  return `/organization/${encodeURIComponent(namespace)}${quota}`;
}
