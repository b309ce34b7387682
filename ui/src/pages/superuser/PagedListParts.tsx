/**
 * What the Users and Organizations tabs show around their table of a paged list (./paged.ts): the
 * search over what is loaded, the loading and empty states, and "Load more". The search is local,
 * so an empty result says when later pages were not searched.
 */
import { EmptyState, Spinner } from "../../components/feedback";
import type { PagedList } from "./paged";

/** The items whose name or email holds `needle` (lower-cased; every item when it is empty). */
export function searched<T extends { email?: string | null }>(items: T[], needle: string, name: (item: T) => string) {
  if (!needle) return items;
  return items.filter((item) => name(item).includes(needle) || (item.email ?? "").toLowerCase().includes(needle));
}

interface Nouns {
  /** "user" */
  one: string;
  /** "users" */
  many: string;
}

/** Loading, or nothing to list (none at all: `emptyTitle`; none matching the search). */
export function PagedListStatus({
  list,
  shown,
  search,
  nouns,
  emptyTitle,
}: {
  list: PagedList<unknown>;
  shown: number;
  search: string;
  nouns: Nouns;
  emptyTitle: string;
}) {
  const needle = search.trim();
  if (list.loading) return <Spinner label={`Loading ${nouns.many}`} />;
  if (list.error || shown > 0) return null;
  return (
    <EmptyState title={needle ? `No ${nouns.one} matches “${needle}”` : emptyTitle}>
      {needle && list.hasMore ? <p>Only the {nouns.many} loaded so far are searched: load more below.</p> : null}
    </EmptyState>
  );
}

export function LoadMoreButton({ list, nouns }: { list: PagedList<unknown>; nouns: Nouns }) {
  if (!list.hasMore) return null;
  return (
    <button type="button" className="btn su-more" disabled={list.loadingMore} onClick={list.loadMore}>
      {list.loadingMore ? "Loading…" : `Load more ${nouns.many}`}
    </button>
  );
}
