/**
 * The repository's Builds tab (Quay's, shown when BUILD_SUPPORT is on): the recent builds
 * (`GET …/build/`, Quay's `build_status_view`) with their phase, start, tags and what started them
 * (a trigger's commit or the user of a manual build), "Start New Build" for writers, and the build
 * triggers for admins. While a build is still running the list is read again every few seconds.
 */
import { useEffect, useState } from "react";
import { repoPath } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { formatDate, formatRelative } from "../../components/format";
import { useEventStream } from "../../components/useEventStream";
import { Link } from "../../router";
import {
  type Build,
  buildHref,
  isTerminal,
  phaseClass,
  phaseLabel,
  safeHref,
  serviceLabel,
  shortSha,
} from "./build-types";
import { StartBuildDialog } from "./StartBuildDialog";
import { TriggersSection } from "./TriggersSection";
import type { RepositoryTabProps } from "./types";
import "./builds.css";

const LIST_LIMIT = 25;
const RUNNING_POLL_MS = 5000;
const BUILD_EVENTS = ["build_dockerfile", "build_started", "build_succeeded", "build_failed", "cancel_build"] as const;

export default function BuildsTab({ repo, repository }: RepositoryTabProps) {
  const builds = useApi<{ builds: Build[] }>(`${repoPath(repository)}/build/`, { limit: LIST_LIMIT });
  const [starting, setStarting] = useState(false);
  const list = builds.data?.builds ?? [];
  const running = list.some((b) => !isTerminal(b.phase));
  const reload = builds.reload;

  // A running build changes phase on the builder: read the list again until every one has ended.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, RUNNING_POLL_MS);
    return () => clearInterval(timer);
  }, [running, reload]);
  useEventStream(`${repoPath(repository)}/events`, { kinds: BUILD_EVENTS, onEvent: reload, onReset: reload });

  return (
    <div className="builds-tab">
      <div className="section-head">
        <h2>Repository builds</h2>
        {repo.can_write ? (
          <button type="button" className="btn btn-primary" onClick={() => setStarting(true)}>
            Start New Build
          </button>
        ) : null}
      </div>
      <ErrorBanner error={builds.error} />
      {!builds.data && builds.loading ? <Spinner label="Loading builds" /> : null}
      {builds.data && list.length === 0 ? (
        <EmptyState title="No builds yet">
          <p>Start a build from a Dockerfile or an archive, or set up a build trigger to build on every push.</p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="table-wrap">
          <table className="data builds-table">
            <caption className="visually-hidden">Recent builds of {repository}</caption>
            <thead>
              <tr>
                <th scope="col">Build</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Tags</th>
                <th scope="col">Triggered by</th>
              </tr>
            </thead>
            <tbody>
              {list.map((build) => (
                <tr key={build.id} data-build={build.id}>
                  <th scope="row">
                    <Link to={buildHref(repository, build.id)} className="mono">
                      {build.id.slice(0, 8)}
                    </Link>
                    {build.display_name ? <div className="hint">{build.display_name}</div> : null}
                  </th>
                  <td>
                    <span className={phaseClass(build.phase)}>{phaseLabel(build.phase)}</span>
                  </td>
                  <td title={formatDate(build.started)}>{formatRelative(build.started)}</td>
                  <td>
                    <BuildTags tags={build.tags} />
                  </td>
                  <td>
                    <BuildOrigin build={build} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {starting ? (
        <StartBuildDialog repository={repository} namespace={repo.namespace} onClose={() => setStarting(false)} />
      ) : null}
      {repo.can_admin ? <TriggersSection repository={repository} namespace={repo.namespace} /> : null}
    </div>
  );
}

export function BuildTags({ tags }: { tags: string[] | undefined }) {
  if (!tags?.length) return <span className="hint">—</span>;
  return (
    <span className="build-tags">
      {tags.map((t) => (
        <span key={t} className="badge">
          {t}
        </span>
      ))}
    </span>
  );
}

/** What started a build: a trigger's commit (linked when its URL is http(s)) or a user by hand. */
export function BuildOrigin({ build }: { build: Build }) {
  const meta = build.trigger_metadata;
  if (build.trigger) {
    const commit = typeof meta?.commit === "string" ? meta.commit : null;
    const href = safeHref(meta?.commit_info?.url);
    const author = meta?.commit_info?.author?.username;
    return (
      <span className="build-origin">
        <span className="badge">{serviceLabel(build.trigger.service)}</span>{" "}
        {commit ? (
          href ? (
            <a href={href} className="mono" rel="noreferrer noopener" target="_blank">
              {shortSha(commit)}
            </a>
          ) : (
            <code title={commit}>{shortSha(commit)}</code>
          )
        ) : (
          "trigger"
        )}
        {author ? <span className="hint"> by {author}</span> : null}
        {meta?.commit_info?.message ? <div className="hint commit-message">{meta.commit_info.message}</div> : null}
      </span>
    );
  }
  if (build.manual_user) return <span>Manually started by {build.manual_user}</span>;
  return <span className="hint">Started by hand</span>;
}
