/**
 * The repository's Tags tab (Quay's): the alive tags, newest first, 50 a page (`GET …/tag/?
 * onlyActiveTags=true`, filtered by the API's `filter_tag_name=like:`), with size, last modified,
 * expiration and manifest digest; a row opens to its pull commands, a manifest list's children,
 * labels, referrers and security status (Quay's security column: ./SecurityStatus.tsx); each tag has Quay's actions (add tag, move, expiration,
 * labels, immutability, delete). The repository's live event stream keeps the page current: a tag
 * pushed by skopeo appears without a reload.
 */
import { Fragment, useEffect, useRef, useState } from "react";
import { repoPath } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { formatBytes, formatDate, formatRelative, shortDigest } from "../../components/format";
import { useEventStream } from "../../components/useEventStream";
import { useFeature } from "../../session";
import { PushInstructions } from "./PushInstructions";
import { securityChanged } from "./security";
import { SecurityStatus } from "./SecurityStatus";
import { TagActions } from "./TagActions";
import { TagDetails } from "./TagDetails";
import type { Tag, TagPage } from "./tag-types";
import type { RepositoryTabProps } from "./types";
import "./repository.css";
import "./tags.css";

const PAGE_SIZE = 50;

/** The events (docs/events.md) that change which tags are alive or what they show. */
const TAG_EVENTS = [
  "push_repo",
  "create_tag",
  "move_tag",
  "delete_tag",
  "change_tag_expiration",
  "change_tag_immutability",
  "revert_tag",
  "autoprune_tag_delete",
  "permanently_delete_tag",
  "delete_manifest",
  "tags_made_immutable_by_policy",
  "gc_tag_rows_deleted",
] as const;

export default function TagsTab({ repo, repository }: RepositoryTabProps) {
  const [filter, setFilter] = useState("");
  const [applied, setApplied] = useState("");
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<string | null>(null);
  const tags = useApi<TagPage>(`${repoPath(repository)}/tag/`, {
    onlyActiveTags: true,
    limit: PAGE_SIZE,
    page,
    filter_tag_name: applied ? `like:${applied}` : undefined,
  });

  // The API filters; typing waits a moment so each keystroke is not a request.
  useEffect(() => {
    const timer = setTimeout(() => {
      setApplied(filter.trim());
      setPage(1);
    }, 250);
    return () => clearTimeout(timer);
  }, [filter]);

  // Quay's security column, when the registry scans (FEATURE_SECURITY_SCANNER).
  const showSecurity = useFeature("SECURITY_SCANNER");
  // Events arrive in bursts (a multi-arch push is several): one re-read per burst.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [liveNote, setLiveNote] = useState("");
  const reread = tags.reload;
  useEventStream(`${repoPath(repository)}/events`, {
    kinds: showSecurity ? [...TAG_EVENTS, "manifest_scanned"] : TAG_EVENTS,
    onEvent: (event) => {
      // A scan ended: only that manifest's security status is read again, not the tags.
      if (event.kind === "manifest_scanned") {
        if (typeof event.data.digest === "string") securityChanged(event.data.digest);
        return;
      }
      const tag = typeof event.data.tag === "string" ? event.data.tag : null;
      if (event.kind === "push_repo" && tag) setLiveNote(`Tag ${tag} was pushed`);
      if (pending.current) clearTimeout(pending.current);
      pending.current = setTimeout(reread, 150);
    },
    onReset: reread,
  });
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  const rows = tags.data?.tags ?? [];
  const columns = 6 + (showSecurity ? 1 : 0);

  return (
    <div className="tags-tab">
      <div className="toolbar">
        <TextField
          label="Filter tags"
          type="search"
          value={filter}
          placeholder="Part of a tag name"
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      <p className="visually-hidden" aria-live="polite">
        {liveNote}
      </p>
      <ErrorBanner error={tags.error} />
      {!tags.data && tags.loading ? <Spinner label="Loading tags" /> : null}
      {tags.data && rows.length === 0 ? (
        applied || page > 1 ? (
          <EmptyState title="No tag matches">
            <p>No alive tag contains “{applied}”.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No tags yet">
            <p>Push an image and its tag appears here at once.</p>
            <PushInstructions repository={repository} />
          </EmptyState>
        )
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table className="data tags-table">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
                <th scope="col">Tag</th>
                {showSecurity ? <th scope="col">Security</th> : null}
                <th scope="col">Size</th>
                <th scope="col">Last modified</th>
                <th scope="col">Expires</th>
                <th scope="col">Manifest</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((tag) => (
                <Fragment key={tag.name}>
                  <TagRow
                    tag={tag}
                    open={open === tag.name}
                    toggle={() => setOpen(open === tag.name ? null : tag.name)}
                    showSecurity={showSecurity}
                    repository={repository}
                    actions={<TagActions tag={tag} repo={repo} repository={repository} tags={rows} done={reread} />}
                  />
                  {open === tag.name ? (
                    <tr className="tag-details-row">
                      <td colSpan={columns + 1}>
                        <TagDetails tag={tag} repo={repo} repository={repository} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {tags.data && (page > 1 || tags.data.has_additional) ? (
        <nav className="pager" aria-label="Tag pages">
          <button type="button" className="btn" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>Page {page}</span>
          <button type="button" className="btn" disabled={!tags.data.has_additional} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      ) : null}
    </div>
  );
}

function TagRow({
  tag,
  open,
  toggle,
  showSecurity,
  repository,
  actions,
}: {
  tag: Tag;
  open: boolean;
  toggle: () => void;
  showSecurity: boolean;
  repository: string;
  actions: React.ReactNode;
}) {
  return (
    <tr className={open ? "tag-row tag-row-open" : "tag-row"}>
      <td>
        <button
          type="button"
          className="btn-plain expand"
          aria-expanded={open}
          aria-label={`Details of tag ${tag.name}`}
          onClick={toggle}
        >
          {open ? "▾" : "▸"}
        </button>
      </td>
      <th scope="row" className="tag-name">
        {tag.name}
        {tag.immutable ? <span className="badge">Immutable</span> : null}
        {tag.is_manifest_list ? <span className="badge">Manifest list</span> : null}
      </th>
      {showSecurity ? (
        <td>
          <SecurityStatus repository={repository} digest={tag.manifest_digest} />
        </td>
      ) : null}
      <td>
        {tag.is_manifest_list
          ? `${tag.child_manifest_count ?? "?"} ${tag.child_manifest_count === 1 ? "image" : "images"}`
          : formatBytes(tag.size)}
      </td>
      <td title={formatDate(tag.last_modified)}>{formatRelative(tag.last_modified)}</td>
      <td title={tag.expiration ? formatDate(tag.expiration) : undefined}>
        {tag.expiration ? formatRelative(tag.expiration) : "Never"}
      </td>
      <td>
        <code title={tag.manifest_digest}>{shortDigest(tag.manifest_digest)}</code>
      </td>
      <td>{actions}</td>
    </tr>
  );
}
