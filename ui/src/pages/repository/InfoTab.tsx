/**
 * The repository's Information tab (Quay's): the description (Markdown shown as its text, never
 * rendered as HTML), pull commands for podman and docker by tag and by digest for the newest tag
 * (`latest` when there is one), and the activity of the last 30 days from `includeStats`
 * (one read, which also brings the tags as they are now).
 */
import { useState } from "react";
import { api, repoPath } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { BarChart } from "../../components/BarChart";
import { ErrorBanner, useToast } from "../../components/feedback";
import { formatRelative } from "../../components/format";
import { PullCommands } from "./PullCommands";
import { PushInstructions } from "./PushInstructions";
import type { RepositoryTabProps } from "./types";
import "./repository.css";

interface TagSummary {
  name: string;
  manifest_digest: string;
  last_modified: string;
}

export default function InfoTab({ repo, repository, reload }: RepositoryTabProps) {
  // Read again with the stats: the tags the page read may predate a push since.
  const stats = useApi<{ stats?: { date: string; count: number }[]; tags?: Record<string, TagSummary> }>(
    repoPath(repository),
    { includeStats: true },
  );
  const toast = useToast();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(repo.description ?? "");
  const save = useMutation(() => api("PUT", repoPath(repository), { body: { description: draft } }));

  // Newest first (an object's integer-like keys, tags such as "1", would otherwise come first).
  const tags = Object.values((stats.data?.tags ?? repo.tags ?? {}) as Record<string, TagSummary>).sort(
    (a, b) => Date.parse(b.last_modified) - Date.parse(a.last_modified),
  );
  const newest = tags.find((t) => t.name === "latest") ?? tags[0];
  const days = (stats.data?.stats ?? []).slice(0, 30).reverse();
  const total = days.reduce((sum, d) => sum + d.count, 0);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if ((await save.run()) === undefined) return;
    setEditing(false);
    toast("Description saved");
    reload();
  };

  return (
    <div className="info-grid">
      <div>
        <section className="card" aria-labelledby="info-description">
          <h2 id="info-description">Description</h2>
          {editing ? (
            <form onSubmit={submit}>
              <ErrorBanner error={save.error} />
              <div className="field">
                <label htmlFor="repo-description">Description (Markdown)</label>
                <textarea id="repo-description" rows={8} value={draft} onChange={(e) => setDraft(e.target.value)} />
              </div>
              <div className="toolbar">
                <button type="submit" className="btn btn-primary" disabled={save.busy}>
                  Save description
                </button>
                <button type="button" className="btn" onClick={() => setEditing(false)}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <>
              {repo.description ? (
                <p className="description-text">{repo.description}</p>
              ) : (
                <p className="hint">No description.</p>
              )}
              {repo.can_write ? (
                <button type="button" className="btn" onClick={() => setEditing(true)}>
                  Edit description
                </button>
              ) : null}
            </>
          )}
        </section>
        <section className="card" aria-labelledby="info-pull">
          <h2 id="info-pull">Pull this image</h2>
          {newest ? (
            <PullCommands repository={repository} tag={newest.name} digest={newest.manifest_digest} />
          ) : (
            <>
              <p>No tag yet. Push the first image:</p>
              <PushInstructions repository={repository} />
            </>
          )}
        </section>
      </div>
      <aside>
        <section className="card" aria-labelledby="info-facts">
          <h2 id="info-facts">Repository</h2>
          <dl className="stat-list">
            <dt>Visibility</dt>
            <dd>{repo.is_public ? "Public" : "Private"}</dd>
            <dt>Tags</dt>
            <dd>{tags.length}</dd>
            <dt>Last modified</dt>
            <dd>{newest ? formatRelative(tags[0]?.last_modified) : "Never pushed"}</dd>
            {repo.state && repo.state !== "NORMAL" ? (
              <>
                <dt>State</dt>
                <dd>{repo.state === "READ_ONLY" ? "Read only" : repo.state === "MIRROR" ? "Mirror" : repo.state}</dd>
              </>
            ) : null}
            {stats.data?.stats ? (
              <>
                <dt>Actions in the 30 days before today</dt>
                <dd>{total}</dd>
              </>
            ) : null}
          </dl>
          <ErrorBanner error={stats.error} />
          {total > 0 ? (
            <BarChart title="Activity per day (30 days)" bars={days.map((d) => ({ label: d.date, value: d.count }))} />
          ) : null}
        </section>
      </aside>
    </div>
  );
}
