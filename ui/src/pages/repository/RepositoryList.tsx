/**
 * `/repository/`: the repositories the user can see (Quay's repository list). Quay's API refuses
 * an unfiltered list, so "all" is `public=true` (every repository visible to the caller, public
 * or granted), one namespace is `namespace=…` and the starred ones `starred=true`.
 */
import { EmptyState } from "../../components/feedback";
import { CheckboxField, SelectField } from "../../components/fields";
import { PageHeader } from "../../components/Layout";
import { Link, navigate, useLocation, withParam } from "../../router";
import { useSession } from "../../session";
import { PushInstructions } from "./PushInstructions";
import { type ListQuery, RepositoryTable } from "./RepositoryTable";

export default function RepositoryList() {
  const { user } = useSession();
  const location = useLocation();
  // The filters live in the URL, so a filtered list can be bookmarked and Back restores it.
  const namespace = location.search.get("namespace") ?? "";
  const starred = location.search.get("starred") === "true";
  const query: ListQuery = starred
    ? { starred: true, namespace: namespace || undefined }
    : namespace
      ? { namespace }
      : { public: true };
  const namespaces = user ? [user.username, ...(user.organizations ?? []).map((o) => o.name)] : [];
  const setParam = (name: string, value: string | null) =>
    navigate(withParam(location, name, value), { replace: true });

  return (
    <>
      <PageHeader
        title="Repositories"
        actions={
          user ? (
            <Link to="/new" className="btn btn-primary">
              Create repository
            </Link>
          ) : null
        }
      />
      {user ? (
        <div className="toolbar">
          <SelectField
            label="Namespace"
            value={namespace}
            onChange={(e) => setParam("namespace", e.target.value || null)}
            options={[{ value: "", label: "All namespaces" }, ...namespaces.map((n) => ({ value: n, label: n }))]}
          />
          <CheckboxField
            label="Starred only"
            checked={starred}
            onChange={(e) => setParam("starred", e.target.checked ? "true" : null)}
          />
        </div>
      ) : null}
      <RepositoryTable
        key={JSON.stringify(query)}
        query={query}
        empty={
          starred ? (
            <EmptyState title="No starred repositories">
              <p>Star a repository with ☆ in the list to find it here.</p>
            </EmptyState>
          ) : (
            <EmptyState title="No repositories yet">
              <p>
                {user ? <Link to="/new">Create a repository</Link> : "Sign in to create a repository"}, or push an
                image: the repository is created on the first push.
              </p>
              {user ? <PushInstructions repository={`${namespace || user.username}/<name>`} /> : null}
            </EmptyState>
          )
        }
      />
    </>
  );
}
