/**
 * The registry's size as last calculated (Quay's `getRegistrySize`) and a button to calculate it
 * again (`queueRegistrySizeCalculation`: 201 queued, 202 when one is queued or running already).
 * While a calculation is queued or running the card asks again every few seconds.
 */
import { useEffect } from "react";
import { api } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Progress, useToast } from "../../components/feedback";
import { formatBytes, formatDate, formatRelative } from "../../components/format";
import type { RegistrySize } from "./types";

const POLL_MS = 4000;

export function RegistrySizeCard() {
  const size = useApi<RegistrySize>("/superuser/registrysize/");
  const toast = useToast();
  const queue = useMutation(() => api("POST", "/superuser/registrysize/"));
  const pending = !!size.data && (size.data.queued || size.data.running);
  const { reload } = size;

  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [pending, reload]);

  return (
    <section className="card" aria-labelledby="su-size-title">
      <div className="su-card-head">
        <h2 id="su-size-title">Registry size</h2>
        <button
          type="button"
          className="btn"
          disabled={queue.busy || pending}
          onClick={async () => {
            if ((await queue.run()) !== undefined) {
              toast("Registry size calculation queued");
              reload();
            }
          }}
        >
          Calculate now
        </button>
      </div>
      <ErrorBanner error={size.error} />
      <ErrorBanner error={queue.error} />
      {size.data ? (
        <>
          <p className="su-figure" data-testid="registry-size">
            {size.data.last_ran === null ? "Not calculated yet" : formatBytes(size.data.size_bytes)}
          </p>
          {size.data.last_ran !== null ? (
            <p className="hint">
              Calculated{" "}
              <time dateTime={new Date(size.data.last_ran).toISOString()}>{formatRelative(size.data.last_ran)}</time> (
              {formatDate(size.data.last_ran)}).
            </p>
          ) : null}
          {pending ? <Progress label={size.data.running ? "Calculating" : "Queued"} /> : null}
        </>
      ) : null}
    </section>
  );
}
