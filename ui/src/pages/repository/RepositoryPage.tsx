/**
 * `/repository/{namespace}/{name}`: Quay's repository page, one tab per `?tab=` (info, tags,
 * history, builds, logs, mirroring, settings). Quay's deeper URLs under it open their own pages:
 * `…/build/{uuid}` a build, `…/manifest/{digest}` a manifest's security report. The repository is read once here and handed to the tab; each
 * tab is its own chunk and starts its own requests as it mounts, alongside this one's.
 */
import { lazy, Suspense, useState } from "react";
import { repoPath } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { PageHeader } from "../../components/Layout";
import { LogsView } from "../../components/LogsView";
import { TabPanel, Tabs, useTab, type TabSpec } from "../../components/Tabs";
import { useLocation } from "../../router";
import { useFeature } from "../../session";
import type { Repository } from "./types";

const TAB_CHUNKS = {
  info: () => import("./InfoTab"),
  tags: () => import("./TagsTab"),
  history: () => import("./HistoryTab"),
  builds: () => import("./BuildsTab"),
  mirroring: () => import("./MirroringTab"),
  settings: () => import("./SettingsTab"),
};
const InfoTab = lazy(TAB_CHUNKS.info);
const TagsTab = lazy(TAB_CHUNKS.tags);
const HistoryTab = lazy(TAB_CHUNKS.history);
const BuildsTab = lazy(TAB_CHUNKS.builds);
const MirroringTab = lazy(TAB_CHUNKS.mirroring);
const BuildPage = lazy(() => import("./BuildPage"));
const ManifestPage = lazy(() => import("./ManifestPage"));

/**
 * Which page a `/repository/…` path names. A repository name may hold slashes, so the page is
 * told by the path's end as Quay's routes do: `{repository}/build/{uuid}` and
 * `{repository}/manifest/{algorithm}:{hex}`.
 */
export function repositorySubpage(
  path: string,
): { kind: "repository"; repository: string } | { kind: "build" | "manifest"; repository: string; id: string } {
  const parts = path.split("/");
  if (parts.length >= 4) {
    const marker = parts[parts.length - 2];
    const id = parts[parts.length - 1]!;
    const repository = parts.slice(0, -2).join("/");
    if (marker === "build" && id) return { kind: "build", repository, id };
    if (marker === "manifest" && /^[a-z0-9+._-]+:[a-zA-Z0-9=_-]+$/.test(id))
      return { kind: "manifest", repository, id };
  }
  return { kind: "repository", repository: path };
}
const SettingsTab = lazy(TAB_CHUNKS.settings);

/**
 * Starts loading the chunk of the tab the URL names while the repository is read, so the tab's
 * own requests start as soon as the repository is known, not one chunk's round trip later (no
 * waterfall: test/e2e/ui/first-load.test.ts).
 */
function useTabChunkEarly(tab: string | null) {
  useState(() => {
    const load = TAB_CHUNKS[(tab ?? "info") as keyof typeof TAB_CHUNKS];
    // A failed early load is retried, and reported, by the tab's own lazy import.
    load?.().catch(() => {});
  });
}

export default function RepositoryRoutes({ params }: { params: Record<string, string> }) {
  const page = repositorySubpage(params.repository ?? "");
  if (page.kind === "repository") return <RepositoryPage repository={page.repository} />;
  return (
    <Suspense fallback={<Spinner />}>
      {page.kind === "build" ? (
        <BuildPage repository={page.repository} uuid={page.id} />
      ) : (
        <ManifestPage repository={page.repository} digest={page.id} />
      )}
    </Suspense>
  );
}

function RepositoryPage({ repository }: { repository: string }) {
  const repo = useApi<Repository>(repoPath(repository));
  useTabChunkEarly(useLocation().search.get("tab"));
  const data = repo.data;
  const builds = useFeature("BUILD_SUPPORT");
  const tabs: TabSpec[] = [
    { id: "info", label: "Information" },
    { id: "tags", label: "Tags" },
    { id: "history", label: "Tag history" },
    { id: "builds", label: "Builds", hidden: !builds || data?.state === "MIRROR" },
    { id: "logs", label: "Usage logs", hidden: !data?.can_admin },
    { id: "mirroring", label: "Mirroring", hidden: !data?.can_admin || data?.state !== "MIRROR" },
    { id: "settings", label: "Settings", hidden: !data?.can_admin },
  ];
  const tab = useTab(tabs);
  const namespace = repository.split("/")[0] ?? "";
  const crumbs = [
    { to: "/repository/", label: "Repositories" },
    { to: `/organization/${encodeURIComponent(namespace)}`, label: namespace },
  ];

  if (repo.error) {
    return (
      <>
        <PageHeader title={repository} crumbs={crumbs} />
        {repo.error.status === 404 ? (
          <EmptyState title="Repository not found">
            <p>It does not exist, or you do not have access to it.</p>
          </EmptyState>
        ) : (
          <ErrorBanner error={repo.error} />
        )}
      </>
    );
  }
  if (!data) return <Spinner label="Loading repository" />;
  const props = { repo: data, repository, reload: repo.reload };
  return (
    <>
      <PageHeader
        title={repository}
        crumbs={crumbs}
        actions={
          <span className={data.is_public ? "badge badge-public" : "badge badge-private"}>
            {data.is_public ? "Public" : "Private"}
          </span>
        }
      />
      <Tabs tabs={tabs} label="Repository" />
      <TabPanel id={tab}>
        <Suspense fallback={<Spinner />}>
          {tab === "info" ? <InfoTab {...props} /> : null}
          {tab === "tags" ? <TagsTab {...props} /> : null}
          {tab === "history" ? <HistoryTab {...props} /> : null}
          {tab === "logs" ? <LogsView base={repoPath(repository)} /> : null}
          {tab === "builds" ? <BuildsTab {...props} /> : null}
          {tab === "mirroring" ? <MirroringTab {...props} /> : null}
          {tab === "settings" ? <SettingsTab {...props} /> : null}
        </Suspense>
      </TabPanel>
    </>
  );
}
