/** A team's repository permissions (`GET …/team/{team}/permissions`, admins only), on the team's page. */
import { seg } from "../../api/client";
import type { Loaded } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { Link } from "../../router";
import { roleLabel } from "./TeamRoles";

export interface Permission {
  repository: { name: string; is_public: boolean };
  role: string;
}

export function TeamPermissions({
  permissions,
  orgname,
  teamname,
}: {
  permissions: Loaded<{ permissions: Permission[] }>;
  orgname: string;
  teamname: string;
}) {
  return (
    <section className="org-section" aria-labelledby="team-permissions">
      <h2 id="team-permissions">Repository permissions</h2>
      <ErrorBanner error={permissions.error} />
      {permissions.loading && !permissions.data ? <Spinner label="Loading permissions" /> : null}
      {permissions.data && permissions.data.permissions.length === 0 ? (
        <EmptyState title="No repository permissions">
          <p>Give the team a role in a repository's settings, or with a default permission.</p>
        </EmptyState>
      ) : null}
      {permissions.data?.permissions.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Repository permissions of team {teamname}</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col">Visibility</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {permissions.data.permissions.map((p) => (
                <tr key={p.repository.name}>
                  <td>
                    <Link to={`/repository/${seg(orgname)}/${p.repository.name.split("/").map(seg).join("/")}`}>
                      {p.repository.name}
                    </Link>
                  </td>
                  <td>
                    {p.repository.is_public ? (
                      <span className="badge badge-public">Public</span>
                    ) : (
                      <span className="badge badge-private">Private</span>
                    )}
                  </td>
                  <td>{roleLabel(p.role)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
