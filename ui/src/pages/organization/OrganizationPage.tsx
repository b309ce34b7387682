/**
 * `/organization/{orgname}`: Quay's organization page, one tab per `?tab=`. Members see the
 * repositories and teams; administrators the rest. Each tab is its own chunk.
 */
import { lazy, Suspense } from "react";
import { seg } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { PageHeader } from "../../components/Layout";
import { LogsView } from "../../components/LogsView";
import { TabPanel, Tabs, useTab, type TabSpec } from "../../components/Tabs";
import { useFeature, useSession } from "../../session";
import type { Organization } from "./types";

const NamespaceRepositories = lazy(() => import("../repository/NamespaceRepositories"));
const TeamsTab = lazy(() => import("./TeamsTab"));
const RobotsTab = lazy(() => import("./RobotsTab"));
const DefaultPermissionsTab = lazy(() => import("./DefaultPermissionsTab"));
const ApplicationsTab = lazy(() => import("./ApplicationsTab"));
const AutoPruneTab = lazy(() => import("./AutoPruneTab"));
const QuotaTab = lazy(() => import("./QuotaTab"));
const ProxyCacheTab = lazy(() => import("./ProxyCacheTab"));
const OrgSettingsTab = lazy(() => import("./OrgSettingsTab"));

export default function OrganizationPage({ params }: { params: Record<string, string> }) {
  const orgname = params.orgname ?? "";
  const org = useApi<Organization>(`/organization/${seg(orgname)}`);
  const data = org.data;
  const admin = !!data?.is_admin;
  const quotas = useFeature("QUOTA_MANAGEMENT", true);
  const proxyCache = useFeature("PROXY_CACHE");
  // Quay lets superusers manage any organization's quota, members or not.
  const superuser = !!useSession().user?.super_user;
  const tabs: TabSpec[] = [
    { id: "repos", label: "Repositories" },
    { id: "teams", label: "Teams and membership", hidden: !data?.is_member && !admin },
    { id: "robots", label: "Robot accounts", hidden: !admin },
    { id: "defaultpermissions", label: "Default permissions", hidden: !admin },
    { id: "applications", label: "OAuth applications", hidden: !admin },
    { id: "logs", label: "Usage logs", hidden: !admin },
    { id: "autoprune", label: "Auto-prune policies", hidden: !admin },
    { id: "quota", label: "Quota", hidden: !(admin || superuser) || !quotas },
    { id: "proxycache", label: "Proxy cache", hidden: !admin || !proxyCache },
    { id: "settings", label: "Settings", hidden: !admin },
  ];
  const tab = useTab(tabs);
  const crumbs = [{ to: "/organization/", label: "Organizations" }];
  if (org.error) {
    return (
      <>
        <PageHeader title={orgname} crumbs={crumbs} />
        {org.error.status === 404 ? <EmptyState title="Organization not found" /> : <ErrorBanner error={org.error} />}
      </>
    );
  }
  if (!data) return <Spinner label="Loading organization" />;
  const props = { org: data, orgname, reload: org.reload };
  const namespace = { namespace: orgname, isOrganization: true };
  return (
    <>
      <PageHeader title={orgname} crumbs={crumbs} />
      <Tabs tabs={tabs} label="Organization" />
      <TabPanel id={tab}>
        <Suspense fallback={<Spinner />}>
          {tab === "repos" ? <NamespaceRepositories namespace={orgname} /> : null}
          {tab === "teams" ? <TeamsTab {...props} /> : null}
          {tab === "robots" ? <RobotsTab {...namespace} /> : null}
          {tab === "defaultpermissions" ? <DefaultPermissionsTab {...props} /> : null}
          {tab === "applications" ? <ApplicationsTab {...props} /> : null}
          {tab === "logs" ? <LogsView base={`/organization/${seg(orgname)}`} /> : null}
          {tab === "autoprune" ? <AutoPruneTab {...namespace} /> : null}
          {tab === "quota" ? <QuotaTab {...props} /> : null}
          {tab === "proxycache" ? <ProxyCacheTab {...props} /> : null}
          {tab === "settings" ? <OrgSettingsTab {...props} /> : null}
        </Suspense>
      </TabPanel>
    </>
  );
}
