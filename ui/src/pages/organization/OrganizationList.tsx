/**
 * `/organization/`: the organizations the signed-in user belongs to (`GET /api/v1/user/`'s
 * `organizations`, read afresh so one just created shows), and for a superuser every organization
 * of the registry (`GET /api/v1/superuser/organizations`), as Quay's organization list offers them.
 */
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { PageHeader } from "../../components/Layout";
import { Link } from "../../router";
import { useSession, type CurrentUser } from "../../session";
import "./organization.css";

interface Row {
  name: string;
  role: "Administrator" | "Member" | "—";
  canCreateRepo: boolean;
}

export default function OrganizationList() {
  const { user: signedIn } = useSession();
  const superuser = !!signedIn?.super_user;
  // Both start at once: the superuser's list does not wait for the user's.
  const me = useApi<CurrentUser>("/user/");
  const all = useApi<{ organizations: { name: string }[] }>(superuser ? "/superuser/organizations" : null);

  const rows = new Map<string, Row>();
  for (const org of me.data?.organizations ?? []) {
    rows.set(org.name, {
      name: org.name,
      role: org.is_org_admin ? "Administrator" : "Member",
      canCreateRepo: !!org.can_create_repo,
    });
  }
  for (const org of all.data?.organizations ?? []) {
    if (!rows.has(org.name)) rows.set(org.name, { name: org.name, role: "—", canCreateRepo: false });
  }
  const list = [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  const loading = me.loading && !me.data;

  return (
    <>
      <PageHeader
        title="Organizations"
        actions={
          <Link to="/organizations/new" className="btn btn-primary">
            Create organization
          </Link>
        }
      />
      <ErrorBanner error={me.error} />
      <ErrorBanner error={all.error} title="All organizations" />
      {loading ? <Spinner label="Loading organizations" /> : null}
      {!loading && !me.error && list.length === 0 ? (
        <EmptyState title="You are not in any organization">
          <p>
            Organizations share repositories among teams. <Link to="/organizations/new">Create one</Link> to start.
          </p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Organizations</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Your role</th>
                <th scope="col">Can create repositories</th>
              </tr>
            </thead>
            <tbody>
              {list.map((row) => (
                <tr key={row.name}>
                  <td>
                    <Link to={`/organization/${encodeURIComponent(row.name)}`} className="org-list-name">
                      {row.name}
                    </Link>
                  </td>
                  <td>
                    {row.role === "—" ? <span className="org-muted">Not a member (superuser view)</span> : row.role}
                  </td>
                  <td>{row.canCreateRepo ? "Yes" : "No"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
