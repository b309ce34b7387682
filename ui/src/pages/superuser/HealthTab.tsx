/**
 * The superuser's registry health: timed live checks of the Worker (`GET /health/live`) and of
 * the services it depends on (Quay's `GET /health/endtoend`: the database and blob storage); the
 * registry's capabilities (Quay's `getRegistryCapabilities`); application tokens about to expire
 * (`listAllAppTokens`, `expiring=true`); and the global messages every user sees.
 */
import { useCallback, useEffect, useState } from "react";
import { useApi } from "../../api/hooks";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { formatDate } from "../../components/format";
import { GlobalMessagesAdmin } from "./GlobalMessagesAdmin";
import { SERVICE_NAMES } from "./HealthGlance";

interface CheckRow {
  id: string;
  name: string;
  what: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** One timed GET of a health path: its status and JSON body (Quay answers 503 with the body too). */
async function timedGet(path: string): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  const body = await res.json().catch(() => null);
  return { status: res.status, body, ms: Math.round(performance.now() - started) };
}

async function runChecks(): Promise<CheckRow[]> {
  const [live, endtoend] = await Promise.all([
    timedGet("/health/live").catch(() => null),
    timedGet("/health/endtoend").catch(() => null),
  ]);
  const rows: CheckRow[] = [
    {
      id: "worker",
      name: "Worker",
      what: "GET /health/live",
      ok: live?.status === 200 && (live.body as { status?: string } | null)?.status === "ok",
      detail: live ? (live.status === 200 ? "live" : `answered ${live.status}`) : "unreachable",
      ms: live?.ms ?? 0,
    },
  ];
  const services = (endtoend?.body as { data?: { services?: Record<string, boolean> } } | null)?.data?.services;
  if (!services) {
    rows.push({
      id: "services",
      name: "Services",
      what: "GET /health/endtoend",
      ok: false,
      detail: endtoend ? `answered ${endtoend.status}` : "unreachable",
      ms: endtoend?.ms ?? 0,
    });
    return rows;
  }
  for (const [id, ok] of Object.entries(services)) {
    rows.push({
      id,
      name: SERVICE_NAMES[id] ?? id,
      what: "GET /health/endtoend",
      ok,
      detail: ok ? "answering" : "not answering",
      ms: endtoend!.ms,
    });
  }
  return rows;
}

function useChecks(): { rows: CheckRow[] | undefined; rerun: () => void; running: boolean } {
  const [rows, setRows] = useState<CheckRow[]>();
  const [running, setRunning] = useState(false);
  const rerun = useCallback(() => {
    setRunning(true);
    runChecks()
      .then(setRows)
      .finally(() => setRunning(false));
  }, []);
  useEffect(rerun, [rerun]);
  return { rows, rerun, running };
}

interface Capabilities {
  sparse_manifests: { supported: boolean; required_architectures: string[] };
  mirror_architectures: string[];
}

interface AppTokens {
  tokens: { uuid: string; title: string; expiration: string | null; last_accessed: string | null }[];
}

export default function HealthTab() {
  const { rows, rerun, running } = useChecks();
  const capabilities = useApi<Capabilities>("/registry/capabilities");
  const expiring = useApi<AppTokens>("/superuser/apptokens", { expiring: true });

  return (
    <>
      <section className="card" aria-labelledby="su-health-title">
        <div className="su-card-head">
          <h2 id="su-health-title">Health checks</h2>
          <button type="button" className="btn" disabled={running} onClick={rerun}>
            Check again
          </button>
        </div>
        {rows ? (
          <ul className="su-checks">
            {rows.map((row) => (
              <li key={row.id} data-check={row.id}>
                <span className="su-check-name">{row.name}</span>
                <code className="su-check-what">{row.what}</code>
                <span className={row.ok ? "badge badge-public" : "badge badge-private"}>
                  {row.ok ? "Healthy" : "Failing"}: {row.detail} ({row.ms} ms)
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <Spinner label="Checking" />
        )}
      </section>

      <section className="card" aria-labelledby="su-capabilities-title">
        <h2 id="su-capabilities-title">Capabilities</h2>
        <ErrorBanner error={capabilities.error} />
        {capabilities.loading && !capabilities.data ? <Spinner label="Loading capabilities" /> : null}
        {capabilities.data ? (
          <dl className="su-facts">
            <dt>Sparse manifest lists</dt>
            <dd>
              {capabilities.data.sparse_manifests.supported
                ? "Accepted"
                : "Not accepted: every child manifest of an index must be pushed first"}
            </dd>
            <dt>Mirroring architectures</dt>
            <dd>
              {capabilities.data.mirror_architectures.length
                ? capabilities.data.mirror_architectures.join(", ")
                : "None filtered"}
            </dd>
          </dl>
        ) : null}
      </section>

      <section className="card" aria-labelledby="su-tokens-title">
        <h2 id="su-tokens-title">Application tokens expiring soon</h2>
        <ErrorBanner error={expiring.error} />
        {expiring.data ? (
          expiring.data.tokens.length === 0 ? (
            <p>No application token expires in the next days.</p>
          ) : (
            <ul>
              {expiring.data.tokens.map((token) => (
                <li key={token.uuid}>
                  {token.title}: expires {formatDate(token.expiration)}
                </li>
              ))}
            </ul>
          )
        ) : null}
      </section>

      <GlobalMessagesAdmin />
    </>
  );
}
