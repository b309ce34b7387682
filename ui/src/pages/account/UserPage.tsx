/**
 * `/user/{username}`: for the signed-in user's own name, Quay's account page (repositories, robot
 * accounts, usage logs, auto-prune policies, settings; one tab per `?tab=`); for anyone else's,
 * that user's public repositories. Each tab is its own chunk.
 */
import { lazy, Suspense, useEffect } from "react";
import { seg } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { PageHeader } from "../../components/Layout";
import { LogsView } from "../../components/LogsView";
import { TabPanel, Tabs, useTab, type TabSpec } from "../../components/Tabs";
import { navigate } from "../../router";
import { type CurrentUser, useSession } from "../../session";
import "./account.css";
import { Avatar, type AvatarData } from "./Avatar";
import { PublicRepositories } from "./PublicRepositories";

const NamespaceRepositories = lazy(() => import("../repository/NamespaceRepositories"));
const RobotsTab = lazy(() => import("../organization/RobotsTab"));
const AutoPruneTab = lazy(() => import("../organization/AutoPruneTab"));
const AccountSettings = lazy(() => import("./AccountSettings"));

const TABS: TabSpec[] = [
  { id: "repos", label: "Repositories" },
  { id: "robots", label: "Robot accounts" },
  { id: "logs", label: "Usage logs" },
  { id: "autoprune", label: "Auto-prune policies" },
  { id: "settings", label: "Settings" },
];

function Title({ avatar, name }: { avatar?: AvatarData; name: string }) {
  return (
    <span className="account-title">
      {avatar ? <Avatar avatar={avatar} /> : null}
      {name}
    </span>
  );
}

export default function UserPage({ params }: { params: Record<string, string> }) {
  const username = params.username ?? "";
  const { user } = useSession();
  if (user && user.username === username) return <OwnAccount user={user} />;
  return <OtherUser username={username} />;
}

function OwnAccount({ user }: { user: CurrentUser }) {
  const tab = useTab(TABS);
  const namespace = { namespace: user.username, isOrganization: false };
  return (
    <>
      <PageHeader title={<Title avatar={user.avatar} name={user.username} />} />
      <Tabs tabs={TABS} label="Account" />
      <TabPanel id={tab}>
        <Suspense fallback={<Spinner />}>
          {tab === "repos" ? <NamespaceRepositories namespace={user.username} /> : null}
          {tab === "robots" ? <RobotsTab {...namespace} /> : null}
          {tab === "logs" ? <LogsView base="/user" /> : null}
          {tab === "autoprune" ? <AutoPruneTab {...namespace} /> : null}
          {tab === "settings" ? <AccountSettings user={user} /> : null}
        </Suspense>
      </TabPanel>
    </>
  );
}

function OtherUser({ username }: { username: string }) {
  // The user's view and the repository list start together (no waterfall).
  const info = useApi<{ username: string; avatar?: AvatarData }>(`/users/${seg(username)}`);
  // Quay's `/user/{name}` of an organization opens the organization's page.
  const org = useApi<{ name: string }>(info.error?.status === 404 ? `/organization/${seg(username)}` : null);
  useEffect(() => {
    if (org.data) navigate(`/organization/${encodeURIComponent(username)}`, { replace: true });
  }, [org.data, username]);
  if (info.error?.status === 404 && (org.loading || org.data)) return <Spinner />;
  if (info.error?.status === 404) {
    return (
      <>
        <PageHeader title={username} />
        <EmptyState title="User not found" />
      </>
    );
  }
  return (
    <>
      <PageHeader title={<Title avatar={info.data?.avatar} name={username} />} />
      <ErrorBanner error={info.error} />
      <h2 className="account-subhead">Public repositories</h2>
      <PublicRepositories username={username} />
    </>
  );
}
