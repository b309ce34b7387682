/**
 * The registry's services at a glance, above the superuser panel's tabs: Quay's
 * `GET /health/instance` (`{data: {services: {name: bool}}}`, 200 or 503 with the same body) read
 * once when the panel opens, each service green when it answers and red when not. The health
 * answer carries no cause (it goes to the Worker's log), so neither does this; the Registry health
 * tab checks again on demand.
 */
import { useEffect, useState } from "react";

/** What each service of Quay's health answer is, in Wharf (src/routes/health.ts). */
export const SERVICE_NAMES: Record<string, string> = {
  database: "Database (D1)",
  storage: "Blob storage (R2)",
  queue: "Event queue",
  durable_objects: "Durable Objects",
};

type Glance = { services: Record<string, boolean> } | { unreachable: string };

async function readInstanceHealth(signal: AbortSignal): Promise<Glance> {
  const res = await fetch("/health/instance", { headers: { Accept: "application/json" }, cache: "no-store", signal });
  const body = (await res.json().catch(() => null)) as { data?: { services?: Record<string, boolean> } } | null;
  const services = body?.data?.services;
  return services ? { services } : { unreachable: `answered ${res.status}` };
}

export function HealthGlance() {
  const [glance, setGlance] = useState<Glance>();
  useEffect(() => {
    const controller = new AbortController();
    readInstanceHealth(controller.signal)
      .then(setGlance)
      .catch((err: Error) => {
        if (err.name !== "AbortError") setGlance({ unreachable: "unreachable" });
      });
    return () => controller.abort();
  }, []);
  if (!glance) return null;
  return (
    <section aria-labelledby="su-glance-title">
      <h2 id="su-glance-title" className="visually-hidden">
        Services at a glance
      </h2>
      <ul className="su-health-glance">
        {"services" in glance ? (
          Object.entries(glance.services).map(([id, ok]) => (
            <li key={id} data-glance={id}>
              <span className={ok ? "badge badge-public" : "badge badge-private"}>
                {SERVICE_NAMES[id] ?? id}: {ok ? "up" : "down"}
              </span>
            </li>
          ))
        ) : (
          <li data-glance="instance">
            <span className="badge badge-private">Health check: {glance.unreachable}</span>
          </li>
        )}
      </ul>
    </section>
  );
}
