/**
 * `/superuser`: Quay's superuser panel, one tab per `?tab=` (users, organizations, logs, quotas,
 * connectors, configuration, metrics, health), under the services' health at a glance. Only superusers (SUPER_USERS, whose session carries `super_user`) see it; anyone else
 * gets a plain "superusers only" state and no request to the superuser API.
 */
import { lazy, Suspense } from "react";
import { EmptyState, Spinner } from "../../components/feedback";
import { PageHeader } from "../../components/Layout";
import { TabPanel, Tabs, useTab, type TabSpec } from "../../components/Tabs";
import { Link } from "../../router";
import { useSession } from "../../session";
import { FreshLoginProvider } from "./fresh-login";
import { HealthGlance } from "./HealthGlance";
import "./superuser.css";

const UsersTab = lazy(() => import("./UsersTab"));
const OrganizationsTab = lazy(() => import("./OrganizationsTab"));
const LogsTab = lazy(() => import("./LogsTab"));
const QuotasTab = lazy(() => import("./QuotasTab"));
const HealthTab = lazy(() => import("./HealthTab"));
const ConnectorsTab = lazy(() => import("./ConnectorsTab"));
const ConfigurationTab = lazy(() => import("./ConfigurationTab"));
const MetricsTab = lazy(() => import("./MetricsTab"));

const TABS: TabSpec[] = [
  { id: "users", label: "Users" },
  { id: "organizations", label: "Organizations" },
  { id: "logs", label: "Usage logs" },
  { id: "quotas", label: "Quotas" },
  { id: "connectors", label: "Connectors" },
  { id: "configuration", label: "Configuration" },
  { id: "metrics", label: "Metrics" },
  { id: "health", label: "Registry health" },
];

export default function SuperuserPanel() {
  const { user } = useSession();
  const tab = useTab(TABS);
  if (!user?.super_user) {
    return (
      <>
        <PageHeader title="Superuser panel" />
        <EmptyState title="Superusers only">
          <p>
            This panel manages the whole registry and is open only to its superusers. If you need something changed
            here, ask one of them. <Link to="/repository/">Back to the repositories</Link>
          </p>
        </EmptyState>
      </>
    );
  }
  return (
    <FreshLoginProvider>
      <PageHeader title="Superuser panel" />
      <HealthGlance />
      <Tabs tabs={TABS} label="Superuser panel" />
      <TabPanel id={tab}>
        <Suspense fallback={<Spinner />}>
          {tab === "users" ? <UsersTab /> : null}
          {tab === "organizations" ? <OrganizationsTab /> : null}
          {tab === "logs" ? <LogsTab /> : null}
          {tab === "quotas" ? <QuotasTab /> : null}
          {tab === "connectors" ? <ConnectorsTab /> : null}
          {tab === "configuration" ? <ConfigurationTab /> : null}
          {tab === "metrics" ? <MetricsTab /> : null}
          {tab === "health" ? <HealthTab /> : null}
        </Suspense>
      </TabPanel>
    </FreshLoginProvider>
  );
}
