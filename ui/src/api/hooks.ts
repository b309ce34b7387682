/**
 * Data hooks over `api()`. Each hook starts its request when the component mounts, so a screen
 * that calls several hooks at its top level sends them all at once (no waterfall).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiFailure, type RequestOptions } from "./client";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  /** Fetch again (after a change), keeping the current data on screen meanwhile. */
  reload: () => void;
  /** Replace the data locally (an optimistic or streamed update). */
  set: (update: (current: T | undefined) => T | undefined) => void;
}

/** GET `/api/v1{path}`; a null path waits (a dependency not known yet). */
export function useApi<T>(path: string | null, query?: RequestOptions["query"]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [generation, setGeneration] = useState(0);
  const key = path === null ? null : `${path}?${JSON.stringify(query ?? {})}`;
  const queryRef = useRef(query);
  queryRef.current = query;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for path and query, and `generation` re-runs the request on reload().
  useEffect(() => {
    if (key === null || path === null) return;
    const controller = new AbortController();
    setLoading(true);
    api<T>("GET", path, { signal: controller.signal, query: queryRef.current })
      .then((answer) => {
        setData(answer);
        setError(undefined);
      })
      .catch((err) => {
        if ((err as Error).name === "AbortError") return;
        setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  const set = useCallback((update: (current: T | undefined) => T | undefined) => setData(update), []);
  return { data, error, loading, reload, set };
}

export interface Mutation<A extends unknown[], R> {
  run: (...args: A) => Promise<R | undefined>;
  busy: boolean;
  error: ApiFailure | undefined;
  clear: () => void;
}

/**
 * A state-changing call: `run` resolves to the answer, or to undefined after storing the error
 * (shown by <ErrorBanner error={m.error} />), so a form never throws into React.
 */
export function useMutation<A extends unknown[], R>(action: (...args: A) => Promise<R>): Mutation<A, R> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      return await actionRef.current(...args);
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String((err as Error)?.message ?? err)));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => setError(undefined), []);
  return { run, busy, error, clear };
}
