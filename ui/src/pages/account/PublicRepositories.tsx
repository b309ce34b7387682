/** Another user's page: the repositories of theirs that are public (Quay's public user view). */
import { seg } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { formatRelative } from "../../components/format";
import { Link } from "../../router";

interface ListedRepository {
  namespace: string;
  name: string;
  description?: string | null;
  is_public: boolean;
  last_modified?: number | null;
}

export function PublicRepositories({ username }: { username: string }) {
  const repos = useApi<{ repositories: ListedRepository[] }>("/repository", { namespace: username, public: true });
  if (repos.error) return <ErrorBanner error={repos.error} />;
  if (!repos.data) return <Spinner label="Loading repositories" />;
  // The list also holds private repositories the viewer may read; a user's page shows the public ones.
  const shown = repos.data.repositories.filter((r) => r.is_public && r.namespace === username);
  if (!shown.length) return <EmptyState title={`${username} has no public repositories`} />;
  return (
    <div className="table-wrap">
      <table className="data">
        <caption className="visually-hidden">Public repositories of {username}</caption>
        <thead>
          <tr>
            <th scope="col">Repository</th>
            <th scope="col">Description</th>
            <th scope="col">Last modified</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.name}>
              <td>
                <Link to={`/repository/${seg(r.namespace)}/${r.name.split("/").map(seg).join("/")}`}>
                  {r.namespace}/{r.name}
                </Link>
              </td>
              <td>{r.description || ""}</td>
              <td>{r.last_modified ? formatRelative(r.last_modified) : "Never"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
