/**
 * From Quay's tag lifetimes (`GET …/tag/?onlyActiveTags=false`: one row per span a tag pointed at a
 * manifest) to the changes a person reads, as Quay's Tag history tab tells them: a tag created,
 * moved (one lifetime ends where the next begins), restored (the next lifetime is a `reversion`)
 * or deleted (a lifetime ends with no successor).
 */

/** One row of `GET …/tag/` (Quay's field names). */
export interface TagLifetime {
  name: string;
  manifest_digest: string;
  start_ts: number;
  end_ts?: number;
  reversion?: boolean;
}

export type ChangeKind = "create" | "recreate" | "move" | "revert" | "delete";

export interface TagChange {
  kind: ChangeKind;
  tag: string;
  /** Unix seconds. */
  time: number;
  /** What the tag points at after the change (for a delete: what it pointed at). */
  digest: string;
  /** What it pointed at before a move or revert. */
  previous?: string;
  /** The lifetime the change ends, for the time-machine check. */
  endedAt?: number;
}

/** Quay's threshold: a lifetime starting within 2 s of the previous one's end continues it. */
const MOVE_THRESHOLD_S = 2;

/** The changes, newest first; those still in the future (a scheduled expiry) when `future` is set. */
export function tagChanges(rows: TagLifetime[], nowS: number, future = false): TagChange[] {
  const byTag = new Map<string, TagLifetime[]>();
  for (const row of rows) {
    // A lifetime removed from the time machine ends before it starts: nothing to show.
    if (row.end_ts !== undefined && row.end_ts < row.start_ts) continue;
    const list = byTag.get(row.name) ?? [];
    list.push(row);
    byTag.set(row.name, list);
  }
  const changes: TagChange[] = [];
  for (const [tag, lifetimes] of byTag) {
    // Oldest first; within one second (the API's unit) an ended lifetime precedes the one that follows it.
    lifetimes.sort((a, b) => a.start_ts - b.start_ts || (a.end_ts ?? Infinity) - (b.end_ts ?? Infinity));
    lifetimes.forEach((row, i) => {
      const before = lifetimes[i - 1];
      const continues = before?.end_ts !== undefined && Math.abs(row.start_ts - before.end_ts) <= MOVE_THRESHOLD_S;
      if (continues && before) {
        changes.push({
          kind: row.reversion ? "revert" : "move",
          tag,
          time: row.start_ts,
          digest: row.manifest_digest,
          previous: before.manifest_digest,
          endedAt: before.end_ts,
        });
      } else {
        changes.push({
          kind: row.reversion ? "recreate" : "create",
          tag,
          time: row.start_ts,
          digest: row.manifest_digest,
        });
      }
      const after = lifetimes[i + 1];
      const succeeded = after && row.end_ts !== undefined && Math.abs(after.start_ts - row.end_ts) <= MOVE_THRESHOLD_S;
      if (row.end_ts !== undefined && !succeeded) {
        changes.push({ kind: "delete", tag, time: row.end_ts, digest: row.manifest_digest, endedAt: row.end_ts });
      }
    });
  }
  return changes.filter((c) => future || c.time <= nowS).sort((a, b) => b.time - a.time || a.tag.localeCompare(b.tag));
}

/**
 * The digest a change can be undone to, as Quay offers it: a deleted tag back to what it pointed
 * at, a moved or reverted one back to its previous manifest; null for a creation or a future change.
 */
export function restoreTarget(change: TagChange, nowS: number): string | null {
  if (change.time > nowS) return null;
  if (change.kind === "delete") return change.digest;
  if (change.kind === "move" || change.kind === "revert") return change.previous ?? null;
  return null;
}

/**
 * Whether the ended lifetime is still in the time machine: Quay restores a tag only while its end
 * lies within the namespace's window (`tag_expiration_s`).
 */
export function inTimeMachine(change: TagChange, windowS: number | undefined, nowS: number): boolean {
  if (change.endedAt === undefined) return false;
  if (windowS === undefined) return true;
  return nowS - change.endedAt < windowS;
}
