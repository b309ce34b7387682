/**
 * Organization mirroring (Quay's FEATURE_ORG_MIRROR, `/organization/{org}/mirror`): the
 * organization discovers the repositories of a namespace of another Quay or Harbor and mirrors
 * them. Shown on the settings tab: its configuration, state, "Sync now", "Cancel sync", "Verify
 * connection" and removal; an organization without one may start mirroring (Quay requires it to
 * hold no repository yet).
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { formatDate } from "../../components/format";
import { ConfirmDialog } from "../../components/Modal";
import OrgMirrorForm, { type OrgMirrorView } from "./OrgMirrorForm";

export default function OrgMirrorSettings({ orgname }: { orgname: string }) {
  const base = `/organization/${seg(orgname)}/mirror`;
  const mirror = useApi<OrgMirrorView>(base);
  const toast = useToast();
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const save = useMutation((body: Record<string, unknown>, exists: boolean) =>
    api(exists ? "PUT" : "POST", base, { body }),
  );
  const action = useMutation((path: string) =>
    api<{ success?: boolean; message?: string } | null>("POST", `${base}/${path}`),
  );
  const remove = useMutation(() => api("DELETE", base));

  const none = mirror.error?.status === 404;
  const submit = async (body: Record<string, unknown>) => {
    if ((await save.run(body, !none)) === undefined) return;
    toast(none ? "Organization mirroring configured" : "Mirror settings saved");
    setEditing(false);
    mirror.reload();
  };
  const run = async (path: string, done: string) => {
    const answer = await action.run(path);
    if (answer === undefined) return;
    if (answer && answer.success === false) toast(answer.message ?? "The connection failed", "error");
    else toast(answer?.message ?? done);
    mirror.reload();
  };

  let body: React.ReactNode;
  if (mirror.error && !none) body = <ErrorBanner error={mirror.error} />;
  else if (!mirror.data && !none) body = <Spinner label="Loading organization mirroring" />;
  else if (none || editing) {
    body = (
      <>
        {none ? (
          <p className="hint">Mirror every repository of a namespace of another Quay or Harbor registry.</p>
        ) : null}
        <ErrorBanner error={save.error} />
        <OrgMirrorForm orgname={orgname} initial={mirror.data} busy={save.busy} onSubmit={submit} />
        {editing ? (
          <button type="button" className="btn" onClick={() => setEditing(false)}>
            Cancel
          </button>
        ) : null}
      </>
    );
  } else {
    const m = mirror.data!;
    body = (
      <>
        <ErrorBanner error={action.error ?? remove.error} />
        <dl className="facts">
          <dt>Source</dt>
          <dd>
            {m.external_registry_type} <code>{m.external_registry_url}</code> namespace{" "}
            <code>{m.external_namespace}</code>
          </dd>
          <dt>State</dt>
          <dd>
            {m.is_enabled ? "Enabled" : "Disabled"}, {m.sync_status.toLowerCase().replace(/_/g, " ")}
          </dd>
          <dt>Robot</dt>
          <dd>{m.robot_username}</dd>
          <dt>Every</dt>
          <dd>
            {m.sync_interval} seconds; next {formatDate(m.sync_start_date)}
          </dd>
          <dt>Filters</dt>
          <dd>{m.repository_filters.length ? m.repository_filters.join(", ") : "every repository"}</dd>
        </dl>
        <div className="toolbar">
          <button type="button" className="btn" disabled={action.busy} onClick={() => run("sync-now", "Sync started")}>
            Sync now
          </button>
          <button
            type="button"
            className="btn"
            disabled={action.busy}
            onClick={() => run("sync-cancel", "Sync cancelled")}
          >
            Cancel sync
          </button>
          <button
            type="button"
            className="btn"
            disabled={action.busy}
            onClick={() => run("verify", "Connection works")}
          >
            Verify connection
          </button>
          <button type="button" className="btn" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button type="button" className="btn" onClick={() => setConfirmDelete(true)}>
            Stop mirroring
          </button>
        </div>
      </>
    );
  }
  return (
    <section className="card" aria-labelledby="org-mirror-title">
      <h3 id="org-mirror-title">Organization mirroring</h3>
      {body}
      <ConfirmDialog
        open={confirmDelete}
        title="Stop mirroring"
        message="The mirror configuration is removed; the mirrored repositories stay, no longer synced."
        confirmLabel="Stop mirroring"
        busy={remove.busy}
        onConfirm={async () => {
          if ((await remove.run()) === undefined) return;
          setConfirmDelete(false);
          toast("Organization mirroring stopped");
          mirror.reload();
        }}
        onClose={() => setConfirmDelete(false)}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
