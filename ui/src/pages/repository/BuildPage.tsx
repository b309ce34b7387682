/**
 * `/repository/{namespace}/{name}/build/{uuid}`: Quay's build page (the build notifications'
 * `homepage` links here). The build's status (`GET …/build/{uuid}`) is read again every 2 seconds
 * until its phase is terminal, with its error, tags, source and trigger metadata; its live log
 * below (./BuildLogs.tsx) for writers (Quay's FEATURE_READER_BUILD_LOGS off: readers get no
 * logs); an admin can cancel it until it starts pushing (`DELETE …/build/{uuid}`).
 */
import { useEffect, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { formatDate, formatRelative } from "../../components/format";
import { PageHeader } from "../../components/Layout";
import { ConfirmDialog } from "../../components/Modal";
import { BuildLogs, LOG_POLL_MS } from "./BuildLogs";
import { BuildOrigin, BuildTags } from "./BuildsTab";
import { type Build, isCancellable, isTerminal, phaseClass, phaseLabel, safeHref, serviceLabel } from "./build-types";
import type { Repository } from "./types";
import "./builds.css";

export default function BuildPage({ repository, uuid }: { repository: string; uuid: string }) {
  const base = `${repoPath(repository)}/build/${seg(uuid)}`;
  const build = useApi<Build>(base);
  const repo = useApi<Repository>(repoPath(repository));
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const cancel = useMutation(() => api("DELETE", base));
  const data = build.data;
  const running = data ? !isTerminal(data.phase) : false;
  const reload = build.reload;

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, LOG_POLL_MS);
    return () => clearInterval(timer);
  }, [running, reload]);

  const namespace = repository.split("/")[0] ?? "";
  const repoLink = `/repository/${repository.split("/").map(encodeURIComponent).join("/")}`;
  const crumbs = [
    { to: "/repository/", label: "Repositories" },
    { to: `/organization/${encodeURIComponent(namespace)}`, label: namespace },
    { to: repoLink, label: repository },
    { to: `${repoLink}?tab=builds`, label: "Builds" },
  ];
  const title = `Build ${uuid.slice(0, 8)}`;

  if (build.error) {
    return (
      <>
        <PageHeader title={title} crumbs={crumbs} />
        {build.error.status === 404 ? (
          <EmptyState title="Build not found">
            <p>It does not exist, or you do not have access to its repository.</p>
          </EmptyState>
        ) : (
          <ErrorBanner error={build.error} />
        )}
      </>
    );
  }
  if (!data) return <Spinner label="Loading the build" />;

  const onCancel = async () => {
    if ((await cancel.run()) === undefined) return;
    setConfirming(false);
    toast("Build cancelled");
    reload();
  };
  const meta = data.trigger_metadata;
  const archive = safeHref(data.archive_url);

  return (
    <>
      <PageHeader
        title={title}
        crumbs={crumbs}
        actions={
          repo.data?.can_admin && isCancellable(data.phase) ? (
            <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
              Cancel build
            </button>
          ) : null
        }
      />
      <section className="card build-status" aria-label="Build status">
        <p className="build-phase">
          <span className={phaseClass(data.phase)} data-phase={data.phase}>
            {phaseLabel(data.phase)}
          </span>
          {running ? <span className="spinner-dot" aria-hidden="true" /> : null}
        </p>
        {data.error ? (
          <div className="banner banner-error" role="alert">
            {data.error}
          </div>
        ) : null}
        <dl className="build-facts">
          <dt>Build ID</dt>
          <dd className="mono break">{data.id}</dd>
          {data.display_name ? (
            <>
              <dt>Name</dt>
              <dd className="mono break">{data.display_name}</dd>
            </>
          ) : null}
          <dt>Started</dt>
          <dd title={formatDate(data.started)}>{formatRelative(data.started)}</dd>
          <dt>Tags</dt>
          <dd>
            <BuildTags tags={data.tags} />
          </dd>
          <dt>Triggered by</dt>
          <dd>
            <BuildOrigin build={data} />
          </dd>
          {data.trigger ? (
            <>
              <dt>Trigger</dt>
              <dd className="break">
                {serviceLabel(data.trigger.service)}
                {data.trigger.build_source ? ` · ${data.trigger.build_source}` : ""}
              </dd>
            </>
          ) : null}
          {meta?.ref ? (
            <>
              <dt>Ref</dt>
              <dd className="mono break">{meta.ref}</dd>
            </>
          ) : null}
          {meta?.commit ? (
            <>
              <dt>Commit</dt>
              <dd className="mono break">{meta.commit}</dd>
            </>
          ) : null}
          {data.dockerfile_path || data.subdirectory ? (
            <>
              <dt>Dockerfile</dt>
              <dd className="mono break">{data.dockerfile_path || data.subdirectory}</dd>
            </>
          ) : null}
          {data.context ? (
            <>
              <dt>Context</dt>
              <dd className="mono break">{data.context}</dd>
            </>
          ) : null}
          {data.pull_robot ? (
            <>
              <dt>Pull robot</dt>
              <dd>{data.pull_robot.name}</dd>
            </>
          ) : null}
          {archive ? (
            <>
              <dt>Source</dt>
              <dd>
                <a href={archive} rel="noreferrer noopener">
                  Download the build source
                </a>
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      {data.is_writer === false ? (
        <p className="hint">Build logs are shown to the repository's writers.</p>
      ) : (
        <BuildLogs base={base} uuid={data.id} running={running} />
      )}
      <ConfirmDialog
        open={confirming}
        title="Cancel this build?"
        message="The build stops, and nothing it built is pushed. Start a new build to build again."
        confirmLabel="Cancel build"
        busy={cancel.busy}
        onConfirm={onCancel}
        onClose={() => setConfirming(false)}
      >
        <ErrorBanner error={cancel.error} />
      </ConfirmDialog>
    </>
  );
}
