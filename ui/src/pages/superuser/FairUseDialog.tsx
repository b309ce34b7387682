/**
 * An organization's fair-use override, from the superuser's Organizations tab (Wharf's own:
 * `GET/PUT/DELETE /api/v1/superuser/organizations/{name}/fairuse`). Each budget, requests per
 * minute and pull bytes per hour, is left empty for the deployment's default
 * (FAIR_USE_NAMESPACE_*, read from `GET /superuser/config`), 0 for no budget, or a number. The
 * GET's `effective` says what is in force; removing the override brings back both defaults.
 */
import { useEffect, useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { formatBytes } from "../../components/format";
import { FormDialog } from "./FormDialog";
import { useFreshLogin } from "./fresh-login";

export interface FairUse {
  name: string;
  overridden: boolean;
  requests_per_minute: number | null;
  pull_bytes_per_hour: number | null;
  effective: { requests_per_minute: number; pull_bytes_per_hour: number };
}

const UNITS = [
  { value: "1", label: "bytes" },
  { value: String(1024 ** 2), label: "MiB" },
  { value: String(1024 ** 3), label: "GiB" },
  { value: String(1024 ** 4), label: "TiB" },
];

/** A byte count as the largest unit that shows it whole, for the form's first values. */
function splitBytes(bytes: number | null): { amount: string; unit: string } {
  if (bytes === null) return { amount: "", unit: UNITS[2]!.value };
  if (bytes === 0) return { amount: "0", unit: UNITS[2]!.value };
  for (const unit of [...UNITS].reverse()) {
    const amount = bytes / Number(unit.value);
    if (Number.isInteger(amount)) return { amount: String(amount), unit: unit.value };
  }
  return { amount: String(bytes), unit: "1" };
}

/** A budget as read: 0 is no budget. */
const requestsText = (n: number) => (n === 0 ? "requests: no budget" : `${n} requests per minute`);
const bytesText = (n: number) => (n === 0 ? "no budget" : `${formatBytes(n)} per hour`);

/** A typed budget: empty is the default (null), else a whole number of at least 0. */
function budgetOf(text: string, multiplier: number, what: string): number | null {
  const typed = text.trim();
  if (typed === "") return null;
  const n = Math.round(Number(typed) * multiplier);
  if (!/^\d+(\.\d+)?$/.test(typed) || !Number.isSafeInteger(n)) {
    throw new Error(`${what} must be empty, 0 or a positive number`);
  }
  return n;
}

/**
 * The deployment's defaults as its configuration gives them; an unset key is 0, no budget
 * (src/config.ts, FAIR_USE_NAMESPACE_*).
 */
function useDefaults() {
  const config = useApi<{ config: Record<string, unknown> }>("/superuser/config");
  const read = (key: string) => Number(config.data?.config[key] ?? 0) || 0;
  return config.data
    ? {
        requests: read("FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE"),
        bytes: read("FAIR_USE_NAMESPACE_PULL_BYTES_PER_HOUR"),
      }
    : undefined;
}

export function FairUseDialog({ org, onClose }: { org: string; onClose: () => void }) {
  const path = `/superuser/organizations/${seg(org)}/fairuse`;
  const current = useApi<FairUse>(path);
  const defaults = useDefaults();
  const fresh = useFreshLogin();
  const toast = useToast();
  const [requests, setRequests] = useState("");
  const [bytes, setBytes] = useState("");
  const [unit, setUnit] = useState(UNITS[2]!.value);
  const [invalid, setInvalid] = useState<Error>();
  const data = current.data;
  useEffect(() => {
    if (!data) return;
    setRequests(data.requests_per_minute === null ? "" : String(data.requests_per_minute));
    const split = splitBytes(data.pull_bytes_per_hour);
    setBytes(split.amount);
    setUnit(split.unit);
  }, [data]);

  const save = useMutation((body: { requests_per_minute: number | null; pull_bytes_per_hour: number | null }) =>
    fresh(() => api<FairUse>("PUT", path, { body })),
  );
  const remove = useMutation(() => fresh(() => api("DELETE", path)));
  const hasOverride = data?.overridden ?? false;

  const onSave = async () => {
    let body: { requests_per_minute: number | null; pull_bytes_per_hour: number | null };
    try {
      body = {
        requests_per_minute: budgetOf(requests, 1, "Requests per minute"),
        pull_bytes_per_hour: budgetOf(bytes, Number(unit), "Pull bandwidth per hour"),
      };
    } catch (err) {
      setInvalid(err as Error);
      return;
    }
    setInvalid(undefined);
    if (await save.run(body)) {
      toast(`Fair use of ${org} saved`);
      onClose();
    }
  };
  const onRemove = async () => {
    if ((await remove.run()) === undefined) return;
    toast(`Fair-use override of ${org} removed: the defaults apply`);
    onClose();
  };

  return (
    <FormDialog
      title={`Fair use of ${org}`}
      submitLabel={save.busy ? "Saving…" : "Save override"}
      busy={save.busy || !data}
      onSubmit={onSave}
      onClose={onClose}
    >
      <ErrorBanner error={current.error} />
      {!data && current.loading ? <Spinner label="Loading the fair-use budgets" /> : null}
      {data ? (
        <>
          <dl className="su-facts" data-testid="fairuse-effective">
            <dt>In force now</dt>
            <dd>
              {requestsText(data.effective.requests_per_minute)}; pulls: {bytesText(data.effective.pull_bytes_per_hour)}
            </dd>
            <dt>Deployment default</dt>
            <dd>
              {defaults
                ? `${requestsText(defaults.requests)}; pulls: ${bytesText(defaults.bytes)}`
                : "(reading the configuration)"}
            </dd>
            <dt>Override</dt>
            <dd>{hasOverride ? "set" : "none: the defaults apply"}</dd>
          </dl>
          <p className="hint">Leave a budget empty for the deployment's default; 0 means no budget at all.</p>
          <TextField
            label="Requests per minute"
            inputMode="numeric"
            autoComplete="off"
            placeholder="default"
            value={requests}
            onChange={(e) => setRequests(e.target.value)}
          />
          <div className="su-size-row">
            <TextField
              label="Pull bandwidth per hour"
              inputMode="decimal"
              autoComplete="off"
              placeholder="default"
              value={bytes}
              onChange={(e) => setBytes(e.target.value)}
            />
            <SelectField
              label="Pull bandwidth unit"
              options={UNITS}
              value={unit}
              onChange={(e) => setUnit(e.target.value)}
            />
          </div>
          {hasOverride ? (
            <button type="button" className="btn su-danger" disabled={remove.busy} onClick={onRemove}>
              {remove.busy ? "Removing…" : "Remove override"}
            </button>
          ) : null}
        </>
      ) : null}
      <ErrorBanner error={invalid} />
      <ErrorBanner error={save.error} />
      <ErrorBanner error={remove.error} />
    </FormDialog>
  );
}
