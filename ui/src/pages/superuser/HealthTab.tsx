/**
 * The superuser's registry health: live checks of the Worker (`GET /health/live`) and of the
 * database behind the API (a one-row read of the users), timed; the registry's capabilities
 * (Quay's `getRegistryCapabilities`); application tokens about to expire (`listAllAppTokens`,
 * `expiring=true`); and the global messages every user sees.
 */
import { useCallback, useEffect, useState } from "react";
import { api, ApiFailure } from "../../api/client";
import { useApi } from "../../api/hooks";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { formatDate } from "../../components/format";
import { GlobalMessagesAdmin } from "./GlobalMessagesAdmin";

interface CheckSpec {
  id: string;
  name: string;
  what: string;
  run: () => Promise<string>;
}

interface CheckResult {
  ok: boolean;
  ms: number;
  detail: string;
}

const CHECKS: CheckSpec[] = [
  {
    id: "worker",
    name: "Worker",
    what: "GET /health/live",
    run: async () => {
      const res = await fetch("/health/live", { headers: { Accept: "application/json" } });
      const body = (await res.json().catch(() => ({}))) as { status?: string };
      if (!res.ok || body.status !== "ok") throw new Error(`answered ${res.status}`);
      return "live";
    },
  },
  {
    id: "database",
    name: "Database",
    what: "GET /api/v1/superuser/users/?limit=1",
    run: async () => {
      await api("GET", "/superuser/users/", { query: { limit: 1 } });
      return "answering";
    },
  },
];

function useChecks(): { results: Record<string, CheckResult | undefined>; rerun: () => void; running: boolean } {
  const [results, setResults] = useState<Record<string, CheckResult | undefined>>({});
  const [running, setRunning] = useState(0);
  const rerun = useCallback(() => {
    setResults({});
    setRunning(CHECKS.length);
    for (const check of CHECKS) {
      const started = performance.now();
      check
        .run()
        .then(
          (detail) => ({ ok: true, detail }),
          (err) => ({ ok: false, detail: err instanceof ApiFailure ? err.message : String((err as Error).message) }),
        )
        .then((outcome) => {
          setResults((all) => ({ ...all, [check.id]: { ...outcome, ms: Math.round(performance.now() - started) } }));
          setRunning((n) => n - 1);
        });
    }
  }, []);
  useEffect(rerun, [rerun]);
  return { results, rerun, running: running > 0 };
}

interface Capabilities {
  sparse_manifests: { supported: boolean; required_architectures: string[] };
  mirror_architectures: string[];
}

interface AppTokens {
  tokens: { uuid: string; title: string; expiration: string | null; last_accessed: string | null }[];
}

export default function HealthTab() {
  const { results, rerun, running } = useChecks();
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
        <ul className="su-checks">
          {CHECKS.map((check) => {
            const result = results[check.id];
            return (
              <li key={check.id} data-check={check.id}>
                <span className="su-check-name">{check.name}</span>
                <code className="su-check-what">{check.what}</code>
                {result ? (
                  <span className={result.ok ? "badge badge-public" : "badge badge-private"}>
                    {result.ok ? "Healthy" : "Failing"}: {result.detail} ({result.ms} ms)
                  </span>
                ) : (
                  <span className="badge">Checking…</span>
                )}
              </li>
            );
          })}
        </ul>
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
