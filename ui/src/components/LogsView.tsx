/**
 * Usage logs, as Quay shows them for a repository, an organization, a user and the whole registry:
 * a chart of actions per day (`…/aggregatelogs`) above the entries (`…/logs`, paged with
 * `next_page`), for a date range. `base` is the API path the two endpoints hang from, e.g.
 * `/repository/acme/app`, `/organization/acme`, `/user` or `/superuser`.
 */
import { useMemo, useState } from "react";
import { api, ApiFailure } from "../api/client";
import { useApi } from "../api/hooks";
import { BarChart } from "./BarChart";
import { EmptyState, ErrorBanner, Spinner } from "./feedback";
import { TextField } from "./fields";
import { formatDate } from "./format";
import { describeKind, kindWords } from "./log-descriptions";
import "./logs-view.css";

export interface LogEntry {
  kind: string;
  datetime: string;
  ip?: string | null;
  metadata?: Record<string, unknown>;
  performer?: { name: string; kind: string } | null;
  namespace?: { name: string } | null;
}

interface LogsPage {
  logs: LogEntry[];
  next_page?: string;
  start_time?: string;
  end_time?: string;
}

interface Aggregate {
  aggregated: { kind: string; count: number; datetime: string }[];
}

/** Quay's `MM/DD/YYYY` query dates (its logs endpoints' starttime and endtime), in UTC. */
export const quayDate = (d: Date) =>
  `${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${d.getUTCFullYear()}`;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** A sentence for an entry, in the words Quay's UI uses for its kind (./log-descriptions.ts). */
export function describeLog(entry: LogEntry): string {
  return describeKind(entry.kind, entry.metadata ?? {});
}

export function LogsView({ base, title = "Usage logs" }: { base: string; title?: string }) {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 6 * 86_400_000)));
  const [to, setTo] = useState(isoDay(today));
  const [filter, setFilter] = useState("");
  const query = {
    starttime: quayDate(new Date(`${from}T00:00:00Z`)),
    endtime: quayDate(new Date(`${to}T00:00:00Z`)),
  };
  const logs = useApi<LogsPage>(`${base}/logs`, query);
  const aggregate = useApi<Aggregate>(`${base}/aggregatelogs`, query);
  const [more, setMore] = useState<LogEntry[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [moreError, setMoreError] = useState<ApiFailure>();
  const [loadingMore, setLoadingMore] = useState(false);

  const entries = [...(logs.data?.logs ?? []), ...more];
  const nextPage = more.length ? next : logs.data?.next_page;
  const bars = useMemo(() => {
    const perDay = new Map<string, number>();
    for (const row of aggregate.data?.aggregated ?? []) {
      const day = isoDay(new Date(row.datetime));
      perDay.set(day, (perDay.get(day) ?? 0) + row.count);
    }
    const days: { label: string; value: number }[] = [];
    for (let t = new Date(`${from}T00:00:00Z`).getTime(); t <= new Date(`${to}T00:00:00Z`).getTime(); t += 86_400_000) {
      const day = isoDay(new Date(t));
      days.push({ label: day, value: perDay.get(day) ?? 0 });
    }
    return days;
  }, [aggregate.data, from, to]);
  // Quay's chart also tells the actions apart: how many of each kind in the range, most first.
  const kinds = useMemo(() => {
    const perKind = new Map<string, number>();
    for (const row of aggregate.data?.aggregated ?? []) perKind.set(row.kind, (perKind.get(row.kind) ?? 0) + row.count);
    return [...perKind].sort((a, b) => b[1] - a[1]).map(([kind, value]) => ({ label: kindWords(kind), value }));
  }, [aggregate.data]);
  const refresh = () => {
    setMore([]);
    setNext(undefined);
    logs.reload();
    aggregate.reload();
  };

  const loadMore = async () => {
    if (!nextPage) return;
    setLoadingMore(true);
    try {
      const page = await api<LogsPage>("GET", `${base}/logs`, { query: { ...query, next_page: nextPage } });
      setMore((all) => [...all, ...page.logs]);
      setNext(page.next_page);
      setMoreError(undefined);
    } catch (err) {
      setMoreError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setLoadingMore(false);
    }
  };

  const shown = filter
    ? entries.filter((e) =>
        `${describeLog(e)} ${e.kind} ${e.performer?.name ?? ""}`.toLowerCase().includes(filter.toLowerCase()),
      )
    : entries;

  const showNamespace = base === "/superuser";
  return (
    <section aria-label={title}>
      <div className="toolbar">
        <TextField
          label="From"
          type="date"
          value={from}
          max={to}
          onChange={(e) => e.target.value && setFrom(e.target.value)}
        />
        <TextField
          label="To"
          type="date"
          value={to}
          min={from}
          onChange={(e) => e.target.value && setTo(e.target.value)}
        />
        <TextField label="Filter logs" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="button" className="btn" onClick={refresh} disabled={logs.loading}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={aggregate.error} />
      {aggregate.data ? (
        <div className="logs-charts">
          <BarChart title="Actions per day" bars={bars} />
          {kinds.length ? <KindBars kinds={kinds} /> : null}
        </div>
      ) : null}
      <ErrorBanner error={logs.error} />
      {logs.loading && !logs.data ? <Spinner label="Loading logs" /> : null}
      {logs.data && shown.length === 0 ? <EmptyState title="No log entries in this range" /> : null}
      {shown.length ? (
        // Registry-wide logs mix namespaces: say whose each entry is (some kinds carry no name of their own).
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Description</th>
                {showNamespace ? <th scope="col">Namespace</th> : null}
                <th scope="col">Date and time</th>
                <th scope="col">Performed by</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((entry, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id, and the list only grows at its end.
                <tr key={`${entry.datetime}-${i}`} data-kind={entry.kind}>
                  <td>{describeLog(entry)}</td>
                  {showNamespace ? <td>{entry.namespace?.name ?? "—"}</td> : null}
                  <td>{formatDate(entry.datetime)}</td>
                  <td>{entry.performer?.name ?? "—"}</td>
                  <td>{entry.ip ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorBanner error={moreError} />
      {nextPage ? (
        <button type="button" className="btn" disabled={loadingMore} onClick={loadMore}>
          {loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </section>
  );
}

/** Actions per kind as horizontal bars with their figures written out (readable without the chart). */
function KindBars({ kinds }: { kinds: { label: string; value: number }[] }) {
  const max = Math.max(1, ...kinds.map((k) => k.value));
  return (
    <figure className="chart logs-kinds">
      <figcaption>Actions by kind</figcaption>
      <ul>
        {kinds.slice(0, 12).map((k) => (
          <li key={k.label}>
            <span className="logs-kind-label">{k.label}</span>
            <svg className="logs-kind-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              <rect className="chart-bar" width={(k.value / max) * 100} height={10} />
            </svg>
            <span className="logs-kind-count">{k.value}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
