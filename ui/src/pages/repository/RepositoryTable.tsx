/**
 * A list of repositories as Quay's repository list shows them (`GET /api/v1/repository`, 100 a
 * page, continued with `next_page`): name, visibility, last modified and the star, with a search
 * box that filters as one types. The repository list screen and the namespace pages share it.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, type ApiFailure, seg } from "../../api/client";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { formatRelative } from "../../components/format";
import { Link } from "../../router";
import { useSession } from "../../session";
import "./repository.css";

/** An item of Quay's `GET /api/v1/repository` answer. */
export interface RepositoryItem {
  namespace: string;
  name: string;
  description?: string | null;
  is_public: boolean;
  kind?: string;
  state?: string;
  is_starred?: boolean;
  /** Unix seconds of the latest tag change, null without tags (asked with `last_modified=true`). */
  last_modified?: number | null;
}

interface ListAnswer {
  repositories: RepositoryItem[];
  next_page?: string;
}

export type ListQuery = { namespace?: string; starred?: boolean; public?: boolean };

/** Every page the user asked for so far, with a way to fetch the next. */
function useRepositoryPages(query: ListQuery) {
  const [items, setItems] = useState<RepositoryItem[]>([]);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const key = JSON.stringify(query);

  const fetchPage = useCallback(
    async (nextPage: string | undefined, signal?: AbortSignal) =>
      api<ListAnswer>("GET", "/repository", {
        signal,
        query: { ...JSON.parse(key), last_modified: true, next_page: nextPage },
      }),
    [key],
  );

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    fetchPage(undefined, controller.signal)
      .then((answer) => {
        setItems(answer.repositories);
        setNext(answer.next_page);
      })
      .catch((err) => {
        if ((err as Error).name !== "AbortError") setError(err as ApiFailure);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [fetchPage]);

  const loadMore = async () => {
    if (!next) return;
    setLoading(true);
    try {
      const answer = await fetchPage(next);
      setItems((all) => [...all, ...answer.repositories]);
      setNext(answer.next_page);
    } catch (err) {
      setError(err as ApiFailure);
    } finally {
      setLoading(false);
    }
  };
  return { items, setItems, next, loading, error, loadMore };
}

const VISIBILITY = [
  { value: "", label: "Any visibility" },
  { value: "public", label: "Public" },
  { value: "private", label: "Private" },
];

export function RepositoryTable({
  query,
  showNamespace = true,
  empty,
}: {
  query: ListQuery;
  /** Whether the name column shows `namespace/` (not on one namespace's own page). */
  showNamespace?: boolean;
  /** What an empty list says (no repository at all, before any search). */
  empty: React.ReactNode;
}) {
  const { user } = useSession();
  const toast = useToast();
  const pages = useRepositoryPages(query);
  const [search, setSearch] = useState("");
  const [visibility, setVisibility] = useState("");

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return pages.items.filter(
      (r) =>
        (!needle ||
          `${r.namespace}/${r.name}`.toLowerCase().includes(needle) ||
          (r.description ?? "").toLowerCase().includes(needle)) &&
        (!visibility || (visibility === "public") === r.is_public) &&
        (!query.namespace || r.namespace === query.namespace),
    );
  }, [pages.items, search, visibility, query.namespace]);

  const toggleStar = async (repo: RepositoryItem) => {
    const starred = !repo.is_starred;
    const same = (r: RepositoryItem) => r.namespace === repo.namespace && r.name === repo.name;
    const mark = (value: boolean) =>
      pages.setItems((all) => all.map((r) => (same(r) ? { ...r, is_starred: value } : r)));
    mark(starred);
    try {
      if (starred) await api("POST", "/user/starred", { body: { namespace: repo.namespace, repository: repo.name } });
      else await api("DELETE", `/user/starred/${seg(repo.namespace)}/${repo.name.split("/").map(seg).join("/")}`);
    } catch (err) {
      mark(!starred);
      toast((err as Error).message, "error");
    }
  };

  if (pages.error && pages.items.length === 0) return <ErrorBanner error={pages.error} />;
  if (pages.loading && pages.items.length === 0) return <Spinner label="Loading repositories" />;
  if (pages.items.length === 0 && !pages.next) return <>{empty}</>;

  return (
    <div className="repo-list">
      <div className="toolbar">
        <TextField
          label="Search repositories"
          type="search"
          value={search}
          placeholder="Filter by name or description"
          onChange={(e) => setSearch(e.target.value)}
        />
        <SelectField
          label="Visibility"
          options={VISIBILITY}
          value={visibility}
          onChange={(e) => setVisibility(e.target.value)}
        />
      </div>
      <ErrorBanner error={pages.error} />
      {shown.length === 0 ? (
        <EmptyState title="No repository matches">
          <p>Nothing among the {pages.items.length} repositories loaded matches these filters.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Visibility</th>
                <th scope="col">Last modified</th>
                {user ? <th scope="col">Star</th> : null}
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const full = `${r.namespace}/${r.name}`;
                return (
                  <tr key={full}>
                    <td>
                      <Link to={`/repository/${full}`} className="repo-name">
                        {showNamespace ? full : r.name}
                      </Link>
                      {r.description ? <div className="repo-description">{firstLine(r.description)}</div> : null}
                    </td>
                    <td>
                      <span className={r.is_public ? "badge badge-public" : "badge badge-private"}>
                        {r.is_public ? "Public" : "Private"}
                      </span>
                    </td>
                    <td>{r.last_modified ? formatRelative(r.last_modified) : "Never pushed"}</td>
                    {user ? (
                      <td>
                        <button
                          type="button"
                          className={r.is_starred ? "star star-on" : "star"}
                          aria-pressed={Boolean(r.is_starred)}
                          aria-label={`Star ${full}`}
                          onClick={() => toggleStar(r)}
                        >
                          {r.is_starred ? "★" : "☆"}
                        </button>
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {pages.next ? (
        <button type="button" className="btn load-more" disabled={pages.loading} onClick={pages.loadMore}>
          {pages.loading ? "Loading…" : "Load more repositories"}
        </button>
      ) : null}
    </div>
  );
}

/** A description's first line (Quay's descriptions are Markdown; the list shows a plain summary). */
const firstLine = (text: string) => {
  const line = text.split("\n").find((l) => l.trim()) ?? "";
  return line.replace(/^#+\s*/, "").slice(0, 160);
};
