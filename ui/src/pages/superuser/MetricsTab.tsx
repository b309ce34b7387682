/**
 * The superuser's Metrics tab: the scrape tokens of `/metrics` (Wharf's own; Quay pushes to a
 * Pushgateway instead), listed without their secrets (`GET /api/v1/superuser/metrics/tokens`),
 * created (`POST`: the token is in that answer only, so the dialog shows it once with a copy field
 * and a Prometheus scrape configuration that uses it) and deleted behind a confirmation
 * (`DELETE …/{uuid}`: the token stops working at once). Changes go through the fresh-login prompt.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { formatDate, formatRelative } from "../../components/format";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { FormDialog } from "./FormDialog";
import { useFreshLogin } from "./fresh-login";
import { RowActions } from "./RowActions";

interface ScrapeToken {
  uuid: string;
  name: string;
  created: string | null;
  /** Only in the creation's answer. */
  token?: string;
}

/** A Prometheus `scrape_configs` entry for this registry, as it is reached from this browser. */
function scrapeConfig(token: string, origin: URL = new URL(location.origin)): string {
  return [
    "scrape_configs:",
    "  - job_name: wharf",
    `    scheme: ${origin.protocol.replace(":", "")}`,
    "    metrics_path: /metrics",
    "    authorization:",
    "      type: Bearer",
    `      credentials: ${token}`,
    "    static_configs:",
    `      - targets: ["${origin.host}"]`,
  ].join("\n");
}

export default function MetricsTab() {
  const tokens = useApi<{ tokens: ScrapeToken[] }>("/superuser/metrics/tokens");
  const fresh = useFreshLogin();
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<ScrapeToken | null>(null);
  const [doomed, setDoomed] = useState<ScrapeToken | null>(null);
  const create = useMutation(() =>
    fresh(() => api<ScrapeToken>("POST", "/superuser/metrics/tokens", { body: { name: name.trim() } })),
  );
  const remove = useMutation((t: ScrapeToken) =>
    fresh(() => api("DELETE", `/superuser/metrics/tokens/${seg(t.uuid)}`)),
  );

  const onCreate = async () => {
    const made = await create.run();
    if (!made) return;
    setCreating(false);
    setName("");
    setCreated(made);
    tokens.reload();
  };
  const onDelete = async () => {
    if (!doomed || (await remove.run(doomed)) === undefined) return;
    toast(`Scrape token ${doomed.name} deleted`);
    setDoomed(null);
    tokens.reload();
  };

  const list = tokens.data?.tokens ?? [];
  return (
    <section className="card" aria-labelledby="su-metrics-title">
      <div className="su-card-head">
        <h2 id="su-metrics-title">Scrape tokens</h2>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            create.clear();
            setCreating(true);
          }}
        >
          Create scrape token
        </button>
      </div>
      <p className="hint">
        The registry's metrics, in Prometheus' text format, are at{" "}
        <a href="/metrics" target="_blank" rel="noreferrer">
          /metrics
        </a>{" "}
        for superusers and for a Prometheus server holding one of these tokens (
        <code>Authorization: Bearer wharfm_…</code>).
      </p>
      <ErrorBanner error={tokens.error} />
      {!tokens.data && tokens.loading ? <Spinner label="Loading scrape tokens" /> : null}
      {tokens.data && list.length === 0 ? (
        <EmptyState title="No scrape tokens">
          <p>Create one for each Prometheus server that scrapes this registry.</p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="table-wrap su-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Scrape tokens of /metrics</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.uuid} data-metrics-token={t.name}>
                  <th scope="row">{t.name}</th>
                  <td title={formatDate(t.created)}>{formatRelative(t.created)}</td>
                  <td className="su-actions-cell">
                    <RowActions
                      label={`Actions for ${t.name}`}
                      actions={[{ label: "Delete token", danger: true, onSelect: () => setDoomed(t) }]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {creating ? (
        <FormDialog
          title="Create scrape token"
          submitLabel={create.busy ? "Creating…" : "Create token"}
          busy={create.busy}
          onSubmit={onCreate}
          onClose={() => setCreating(false)}
        >
          <TextField
            label="Name"
            hint="Who scrapes with it, e.g. the Prometheus server's name."
            required
            maxLength={64}
            autoComplete="off"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <ErrorBanner error={create.error} />
        </FormDialog>
      ) : null}
      {created ? (
        <Modal
          title={`Scrape token ${created.name} created`}
          open
          onClose={() => setCreated(null)}
          footer={
            <button type="button" className="btn btn-primary" onClick={() => setCreated(null)}>
              Done
            </button>
          }
        >
          <p>Copy the token now: it is shown this once. The registry keeps only its hash.</p>
          {created.token ? (
            <>
              <CopyField label="Scrape token" value={created.token} />
              <CopyField label="Prometheus scrape configuration" value={scrapeConfig(created.token)} multiline />
            </>
          ) : null}
        </Modal>
      ) : null}
      <ConfirmDialog
        open={doomed !== null}
        title={`Delete scrape token ${doomed?.name ?? ""}?`}
        message="A Prometheus server scraping with it is refused from now on."
        busy={remove.busy}
        onConfirm={onDelete}
        onClose={() => setDoomed(null)}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
