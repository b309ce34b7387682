/**
 * Quay's "Members View" and "Collaborators View" of the Teams and membership tab (admins only):
 * the people in the organization's teams with their teams and direct repository permissions
 * (`GET …/members`), and the people with direct permissions but no team (`GET …/collaborators`).
 */
import { seg } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { Link } from "../../router";

interface Member {
  name: string;
  teams: { name: string }[];
  repositories: string[];
}
interface Collaborator {
  name: string;
  repositories: string[];
}

export function OrganizationMembers({ orgname, view }: { orgname: string; view: "members" | "collaborators" }) {
  const members = useApi<{ members: Member[] }>(view === "members" ? `/organization/${seg(orgname)}/members` : null);
  const collaborators = useApi<{ collaborators: Collaborator[] }>(
    view === "collaborators" ? `/organization/${seg(orgname)}/collaborators` : null,
  );
  const loaded = view === "members" ? members : collaborators;
  const rows: (Member | Collaborator)[] =
    view === "members" ? (members.data?.members ?? []) : (collaborators.data?.collaborators ?? []);
  const caption = view === "members" ? "Organization members" : "Outside collaborators";

  return (
    <>
      <ErrorBanner error={loaded.error} />
      {loaded.loading && !loaded.data ? <Spinner label={`Loading ${caption.toLowerCase()}`} /> : null}
      {loaded.data && rows.length === 0 ? (
        <EmptyState title={view === "members" ? "No members yet" : "No outside collaborators"}>
          {view === "collaborators" ? (
            <p>Collaborators hold a repository permission of their own without being in any team.</p>
          ) : null}
        </EmptyState>
      ) : null}
      {rows.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">{caption}</caption>
            <thead>
              <tr>
                <th scope="col">User name</th>
                {view === "members" ? <th scope="col">Teams</th> : null}
                <th scope="col">Direct repository permissions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.name}>
                  <td>{row.name}</td>
                  {"teams" in row ? (
                    <td>
                      {row.teams.map((team, i) => (
                        <span key={team.name}>
                          {i ? ", " : ""}
                          <Link to={`/organization/${seg(orgname)}/teams/${seg(team.name)}`}>{team.name}</Link>
                        </span>
                      ))}
                    </td>
                  ) : null}
                  <td>
                    {row.repositories.length ? row.repositories.join(", ") : <span className="org-muted">None</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
