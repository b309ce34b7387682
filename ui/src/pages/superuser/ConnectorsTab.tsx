/**
 * The superuser's Connectors tab (Wharf's, docs/connector.md): the origin connectors that lease
 * build and scan jobs (`GET /api/v1/superuser/connectors`) with when each was last seen, what it
 * may lease, what it said of itself and the jobs it holds; create one (its token is shown once,
 * with a copy button, and never again); delete one; and the job queue
 * (`GET /api/v1/superuser/connectors/jobs`). Field names the API may leave out are optional.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CheckboxField, TextField } from "../../components/fields";
import { formatDate, formatRelative } from "../../components/format";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { FormDialog } from "./FormDialog";
import { useFreshLogin } from "./fresh-login";
import { RowActions } from "./RowActions";
import "../repository/builds.css";

export interface ConnectorView {
  uuid: string;
  name: string;
  kinds?: string[];
  created?: string | number | null;
  last_seen?: string | number | null;
  info?: { version?: string; hostname?: string; builder?: string | null; scanner?: boolean } | null;
  leased_jobs?: number;
  token?: string;
}

export interface JobView {
  uuid: string;
  kind: string;
  subject?: string;
  state: string;
  attempts?: number;
  repository?: string | null;
  connector?: string | { uuid?: string; name?: string } | null;
  lease_expires?: string | number | null;
  available?: string | number | null;
  created?: string | number | null;
  error?: string | null;
}

const KINDS = ["build", "scan"] as const;

/** The connector a job is leased to, by uuid or name, whichever the API gives. */
export const jobConnector = (job: JobView): string | undefined =>
  typeof job.connector === "string" ? job.connector : (job.connector?.uuid ?? job.connector?.name);

/** A job's connector by the name a superuser gave it, when the job or the list says it. */
const connectorName = (job: JobView, connectors: ConnectorView[]) => {
  if (job.connector && typeof job.connector === "object" && job.connector.name) return job.connector.name;
  const id = jobConnector(job);
  return connectors.find((c) => c.uuid === id || c.name === id)?.name ?? id;
};

/** How many jobs a connector holds: the API's count, else the leased jobs of the queue naming it. */
export function leasedCount(connector: ConnectorView, jobs: JobView[] | undefined): number | undefined {
  if (typeof connector.leased_jobs === "number") return connector.leased_jobs;
  if (!jobs) return undefined;
  return jobs.filter((j) => j.state === "leased" && [connector.uuid, connector.name].includes(jobConnector(j) ?? ""))
    .length;
}

const JOB_STATE_CLASS: Record<string, string> = {
  queued: "badge badge-phase-waiting",
  leased: "badge badge-phase-running",
  done: "badge badge-phase-complete",
  failed: "badge badge-phase-error",
  cancelled: "badge badge-phase-cancelled",
};

export default function ConnectorsTab() {
  const connectors = useApi<{ connectors: ConnectorView[] }>("/superuser/connectors");
  const jobs = useApi<{ jobs: JobView[] }>("/superuser/connectors/jobs");
  const fresh = useFreshLogin();
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [kinds, setKinds] = useState<string[]>([...KINDS]);
  const [created, setCreated] = useState<ConnectorView | null>(null);
  const [doomed, setDoomed] = useState<ConnectorView | null>(null);
  const create = useMutation(() =>
    fresh(() => api<ConnectorView>("POST", "/superuser/connectors", { body: { name: name.trim(), kinds } })),
  );
  const remove = useMutation((c: ConnectorView) => fresh(() => api("DELETE", `/superuser/connectors/${seg(c.uuid)}`)));

  const onCreate = async () => {
    const made = await create.run();
    if (!made) return;
    setCreating(false);
    setName("");
    setCreated(made);
    connectors.reload();
  };
  const onDelete = async () => {
    if (!doomed || (await remove.run(doomed)) === undefined) return;
    toast(`Connector ${doomed.name} deleted`);
    setDoomed(null);
    connectors.reload();
    jobs.reload();
  };
  const toggleKind = (kind: string, on: boolean) =>
    setKinds((all) => (on ? [...new Set([...all, kind])] : all.filter((k) => k !== kind)));

  const list = connectors.data?.connectors ?? [];
  const queue = jobs.data?.jobs;
  return (
    <div className="connectors-tab">
      <div className="su-card-head">
        <h2>Origin connectors</h2>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          Create connector
        </button>
      </div>
      <p className="hint">
        A connector runs on-prem next to the builders and Clair:{" "}
        <code>npm run connector -- --edge URL --token TOKEN</code>. It calls the registry; nothing on-prem listens.
      </p>
      <ErrorBanner error={connectors.error} />
      {!connectors.data && connectors.loading ? <Spinner label="Loading connectors" /> : null}
      {connectors.data && list.length === 0 ? (
        <EmptyState title="No connectors">
          <p>Builds and scans wait in the queue until a connector leases them.</p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="table-wrap su-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Connectors</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kinds</th>
                <th scope="col">Last seen</th>
                <th scope="col">Reported</th>
                <th scope="col">Leased jobs</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.uuid} data-connector={c.name}>
                  <th scope="row">
                    {c.name}
                    <div className="hint mono">{c.uuid}</div>
                  </th>
                  <td>{(c.kinds ?? []).join(", ") || "—"}</td>
                  <td title={c.last_seen ? formatDate(c.last_seen) : undefined}>
                    {c.last_seen ? formatRelative(c.last_seen) : <span className="hint">Never</span>}
                  </td>
                  <td>
                    {c.info && (c.info.version || c.info.hostname) ? (
                      <>
                        {c.info.hostname ?? ""} {c.info.version ? `v${c.info.version}` : ""}
                        {c.info.builder ? <div className="hint">builder {c.info.builder}</div> : null}
                      </>
                    ) : (
                      <span className="hint">—</span>
                    )}
                  </td>
                  <td>{leasedCount(c, queue) ?? "—"}</td>
                  <td className="su-actions-cell">
                    <RowActions
                      label={`Actions for ${c.name}`}
                      actions={[{ label: "Delete connector", danger: true, onSelect: () => setDoomed(c) }]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <JobQueue jobs={jobs} connectors={list} />

      {creating ? (
        <FormDialog
          title="Create connector"
          submitLabel="Create connector"
          busy={create.busy}
          onSubmit={onCreate}
          onClose={() => setCreating(false)}
        >
          <TextField label="Name" value={name} required onChange={(e) => setName(e.target.value)} />
          <fieldset className="choice">
            <legend>Jobs it may lease</legend>
            {KINDS.map((k) => (
              <CheckboxField
                key={k}
                label={k === "build" ? "Builds" : "Security scans"}
                checked={kinds.includes(k)}
                onChange={(e) => toggleKind(k, e.target.checked)}
              />
            ))}
          </fieldset>
          <ErrorBanner error={create.error} />
        </FormDialog>
      ) : null}
      {created ? (
        <Modal
          title={`Connector ${created.name} created`}
          open
          onClose={() => setCreated(null)}
          footer={
            <button type="button" className="btn btn-primary" onClick={() => setCreated(null)}>
              Done
            </button>
          }
        >
          <p>Copy the token now: it is shown this once. The registry keeps only its hash.</p>
          {created.token ? <CopyField label="Connector token" value={created.token} /> : null}
        </Modal>
      ) : null}
      <ConfirmDialog
        open={doomed !== null}
        title={`Delete connector ${doomed?.name ?? ""}?`}
        message="Its token stops working at once. Jobs it holds return to the queue when their lease runs out."
        busy={remove.busy}
        onConfirm={onDelete}
        onClose={() => setDoomed(null)}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </div>
  );
}

function JobQueue({
  jobs,
  connectors,
}: {
  jobs: ReturnType<typeof useApi<{ jobs: JobView[] }>>;
  connectors: ConnectorView[];
}) {
  const list = jobs.data?.jobs ?? [];
  return (
    <section className="job-queue" aria-labelledby="job-queue-heading">
      <div className="su-card-head">
        <h2 id="job-queue-heading">Job queue</h2>
        <button type="button" className="btn" onClick={jobs.reload} disabled={jobs.loading}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={jobs.error} />
      {jobs.data && list.length === 0 ? <p className="hint">No jobs.</p> : null}
      {list.length ? (
        <div className="table-wrap su-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Connector jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Subject</th>
                <th scope="col">Attempts</th>
                <th scope="col">Connector</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((j) => (
                <tr key={j.uuid} data-job={j.uuid}>
                  <th scope="row">
                    {j.kind}
                    <div className="hint mono">{j.uuid.slice(0, 8)}</div>
                  </th>
                  <td>
                    <span className={JOB_STATE_CLASS[j.state] ?? "badge"}>{j.state}</span>
                    {j.error ? <div className="hint">{j.error}</div> : null}
                  </td>
                  <td className="break">
                    {j.repository ? <div>{j.repository}</div> : null}
                    <span className="mono">{j.subject ?? "—"}</span>
                  </td>
                  <td>{j.attempts ?? "—"}</td>
                  <td>
                    {connectorName(j, connectors) ?? <span className="hint">—</span>}
                    {j.state === "leased" && j.lease_expires ? (
                      <div className="hint">lease ends {formatRelative(j.lease_expires)}</div>
                    ) : null}
                  </td>
                  <td title={formatDate(j.created)}>{formatRelative(j.created)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
