/**
 * The superuser's listings page with Quay's `limit` and `next_page`: the first page loads with the
 * screen, further ones on "Load more". `reload()` starts over from the first page (after a change).
 */
import { useCallback, useState } from "react";
import { api, ApiFailure } from "../../api/client";
import { useApi } from "../../api/hooks";

export const PAGE_SIZE = 50;

export interface PagedList<T> {
  items: T[];
  loading: boolean;
  error: ApiFailure | undefined;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => Promise<void>;
  reload: () => void;
}

export function usePagedList<T>(path: string, field: string): PagedList<T> {
  const first = useApi<Record<string, unknown>>(path, { limit: PAGE_SIZE });
  const [more, setMore] = useState<{ items: T[]; next?: string; of?: unknown }>({ items: [] });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiFailure>();
  // Later pages belong to the first page they followed; a reload drops them.
  const current = more.of === first.data ? more : { items: [] as T[], next: undefined };
  const items = [...((first.data?.[field] as T[] | undefined) ?? []), ...current.items];
  const next = current.items.length ? current.next : (first.data?.next_page as string | undefined);

  const loadMore = useCallback(async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const page = await api<Record<string, unknown>>("GET", path, { query: { limit: PAGE_SIZE, next_page: next } });
      setMore({
        items: [...current.items, ...((page[field] as T[] | undefined) ?? [])],
        next: page.next_page as string | undefined,
        of: first.data,
      });
      setMoreError(undefined);
    } catch (err) {
      setMoreError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setLoadingMore(false);
    }
  }, [next, path, field, current.items, first.data]);

  return {
    items,
    loading: first.loading && !first.data,
    error: first.error ?? moreError,
    hasMore: !!next,
    loadingMore,
    loadMore,
    reload: first.reload,
  };
}
