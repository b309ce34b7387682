/**
 * The Tag history tab, as Quay's: every change of the repository's tags (created, moved, restored,
 * deleted) with its time and digests, newest first, filtered by tag name; a moved or deleted tag can
 * be restored to its earlier manifest (`POST …/tag/{tag}/restore`) while that lifetime is still in
 * the time machine (the namespace's `tag_expiration_s`).
 */
import { useEffect, useMemo, useState } from "react";
import { api, ApiFailure, repoPath, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CheckboxField, TextField } from "../../components/fields";
import { formatDate, formatRelative, shortDigest } from "../../components/format";
import { ConfirmDialog } from "../../components/Modal";
import { inTimeMachine, restoreTarget, type TagChange, tagChanges, type TagLifetime } from "./tag-history";
import type { RepositoryTabProps } from "./types";
import "./repository-more.css";

interface HistoryPage {
  tags: TagLifetime[];
  page: number;
  has_additional: boolean;
}

const PAGE = 100;

function Digest({ digest }: { digest: string }) {
  return (
    <code className="mono" title={digest}>
      {shortDigest(digest)}
    </code>
  );
}

function Describe({ change }: { change: TagChange }) {
  const tag = <span className="badge">{change.tag}</span>;
  switch (change.kind) {
    case "create":
    case "recreate":
      return (
        <>
          {tag} was {change.kind === "create" ? "created" : "recreated"} pointing to <Digest digest={change.digest} />
        </>
      );
    case "move":
    case "revert":
      return (
        <>
          {tag} was {change.kind === "move" ? "moved" : "restored"} to <Digest digest={change.digest} /> from{" "}
          <Digest digest={change.previous ?? ""} />
        </>
      );
    case "delete":
      return (
        <>
          {tag} {change.time * 1000 > Date.now() ? "will expire" : "was deleted"} (it pointed to{" "}
          <Digest digest={change.digest} />)
        </>
      );
  }
}

export default function HistoryTab({ repo, repository }: RepositoryTabProps) {
  const toast = useToast();
  const [filter, setFilter] = useState("");
  const [applied, setApplied] = useState("");
  const [future, setFuture] = useState(false);
  const [rows, setRows] = useState<TagLifetime[]>([]);
  const [page, setPage] = useState(0);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiFailure>();
  const [generation, setGeneration] = useState(0);
  const [restoring, setRestoring] = useState<{ change: TagChange; digest: string } | null>(null);

  // The filter goes to the server (Quay's `filter_tag_name=like:`) a moment after typing stops.
  useEffect(() => {
    const timer = setTimeout(() => setApplied(filter.trim()), 300);
    return () => clearTimeout(timer);
  }, [filter]);

  const load = async (next: number, replace: boolean, signal?: AbortSignal) => {
    setLoading(true);
    try {
      const answer = await api<HistoryPage>("GET", `${repoPath(repository)}/tag/`, {
        signal,
        query: {
          onlyActiveTags: false,
          limit: PAGE,
          page: next,
          filter_tag_name: applied ? `like:${applied}` : undefined,
        },
      });
      setRows((all) => (replace ? answer.tags : [...all, ...answer.tags]));
      setPage(next);
      setMore(answer.has_additional);
      setError(undefined);
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    }
    setLoading(false);
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the filter or generation changes.
  useEffect(() => {
    const controller = new AbortController();
    load(1, true, controller.signal);
    return () => controller.abort();
  }, [applied, generation, repository]);

  const nowS = Math.floor(Date.now() / 1000);
  // biome-ignore lint/correctness/useExhaustiveDependencies: nowS moves every render; the rows decide.
  const changes = useMemo(() => tagChanges(rows, nowS, future), [rows, future]);
  const canRestore = repo.can_write && (repo.state ?? "NORMAL") === "NORMAL";

  const restore = useMutation(async (tag: string, digest: string) =>
    api("POST", `${repoPath(repository)}/tag/${seg(tag)}/restore`, { body: { manifest_digest: digest } }),
  );
  const confirmRestore = async () => {
    if (!restoring) return;
    const done = await restore.run(restoring.change.tag, restoring.digest);
    if (done === undefined) return;
    toast(`Restored ${restoring.change.tag} to ${shortDigest(restoring.digest)}`);
    setRestoring(null);
    setGeneration((n) => n + 1);
  };

  return (
    <section aria-label="Tag history">
      <div className="toolbar">
        <TextField label="Filter by tag" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <CheckboxField label="Show future expirations" checked={future} onChange={(e) => setFuture(e.target.checked)} />
      </div>
      {repo.tag_expiration_s !== undefined ? (
        <p className="hint">
          Tags can be restored for {Math.round(repo.tag_expiration_s / 86400) || "less than 1"} day(s) after they change
          (the namespace's time machine).
        </p>
      ) : null}
      <ErrorBanner error={error} />
      {loading && rows.length === 0 ? <Spinner label="Loading tag history" /> : null}
      {!loading && !error && changes.length === 0 ? (
        <EmptyState title={applied ? `No changes of tags matching “${applied}”` : "No tag changes yet"}>
          <p>Tags pushed, moved or deleted appear here.</p>
        </EmptyState>
      ) : null}
      {changes.length ? (
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">Tag changes, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Tag change</th>
                <th scope="col">Date and time</th>
                {canRestore ? <th scope="col">Restore</th> : null}
              </tr>
            </thead>
            <tbody>
              {changes.map((change) => {
                const target = restoreTarget(change, nowS);
                const allowed = target && inTimeMachine(change, repo.tag_expiration_s, nowS);
                return (
                  <tr key={`${change.tag}-${change.kind}-${change.time}-${change.digest}`} data-kind={change.kind}>
                    <td>
                      <Describe change={change} />
                    </td>
                    <td>
                      <time dateTime={new Date(change.time * 1000).toISOString()} title={formatDate(change.time)}>
                        {formatRelative(change.time)}
                      </time>
                    </td>
                    {canRestore ? (
                      <td>
                        {target && allowed ? (
                          <button
                            type="button"
                            className="btn-plain"
                            onClick={() => {
                              restore.clear();
                              setRestoring({ change, digest: target });
                            }}
                          >
                            Restore {change.tag} to {shortDigest(target)}
                          </button>
                        ) : target ? (
                          <span className="hint">Outside the time machine</span>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {more ? (
        <button type="button" className="btn" disabled={loading} onClick={() => load(page + 1, false)}>
          {loading ? "Loading…" : "Load older changes"}
        </button>
      ) : null}
      <ConfirmDialog
        open={restoring !== null}
        title="Restore tag"
        confirmLabel="Restore tag"
        busy={restore.busy}
        onConfirm={confirmRestore}
        onClose={() => setRestoring(null)}
        message={
          restoring ? (
            <>
              This changes the image the tag points to. Restore <strong>{restoring.change.tag}</strong> to{" "}
              <code className="mono">{restoring.digest}</code>?
            </>
          ) : null
        }
      >
        <ErrorBanner error={restore.error} />
      </ConfirmDialog>
    </section>
  );
}
