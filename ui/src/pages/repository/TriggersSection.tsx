/**
 * The Builds tab's build triggers (Quay's, for repository admins): `GET …/trigger/` lists them with
 * their service, source, configuration and state. Creating one (`POST …/trigger/` `{service}`,
 * Wharf's: Quay creates triggers through an OAuth redirect) makes an inactive trigger, whose setup
 * dialog activates it (`…/trigger/{uuid}/activate`). Each trigger has View Credentials (the deploy
 * key and webhook URL Quay keeps in `config.credentials`), Run Now (`…/start` `{commit_sha}`, or
 * for GitHub `{refs}`),
 * Enable/Disable (`PUT …/trigger/{uuid}` `{enabled}`) and Delete.
 */
import { useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { navigate } from "../../router";
import { RowActions } from "../superuser/RowActions";
import { FormDialog } from "../superuser/FormDialog";
import { type Build, buildHref, serviceLabel, type Trigger } from "./build-types";
import { TriggerSetupDialog } from "./TriggerSetupDialog";
import "../superuser/superuser.css";

type Dialog =
  | { kind: "setup" | "credentials" | "run" | "delete"; trigger: Trigger }
  | { kind: "create" }
  | { kind: "none" };

/** The configuration in a line: branches, Dockerfile, tagging. */
export function configSummary(trigger: Trigger): string {
  const c = trigger.config ?? {};
  const parts: string[] = [];
  parts.push(c.branchtag_regex ? `refs matching ${c.branchtag_regex}` : "every branch and tag");
  if (c.dockerfile_path) parts.push(`Dockerfile ${c.dockerfile_path}`);
  if (c.context) parts.push(`context ${c.context}`);
  const tagging: string[] = [];
  if (c.default_tag_from_ref) tagging.push("tag from ref");
  if (c.latest_for_default_branch) tagging.push("latest on default branch");
  if (c.tag_templates?.length) tagging.push(`templates ${c.tag_templates.join(", ")}`);
  if (tagging.length) parts.push(tagging.join(", "));
  return parts.join(" · ");
}

export function TriggersSection({ repository, namespace }: { repository: string; namespace: string }) {
  const base = `${repoPath(repository)}/trigger`;
  const triggers = useApi<{ triggers: Trigger[] }>(`${base}/`);
  const toast = useToast();
  const [dialog, setDialog] = useState<Dialog>({ kind: "none" });
  const close = () => setDialog({ kind: "none" });
  const [service, setService] = useState("custom-git");
  const [commit, setCommit] = useState("");

  const create = useMutation(() => api<Trigger>("POST", `${base}/`, { body: { service } }));
  const toggle = useMutation((t: Trigger) => api("PUT", `${base}/${seg(t.id)}`, { body: { enabled: !t.enabled } }));
  const remove = useMutation((t: Trigger) => api("DELETE", `${base}/${seg(t.id)}`));
  const [refKind, setRefKind] = useState("branch");
  // Quay's run parameters: custom git builds a commit; GitHub rebuilds a branch's or tag's last push.
  const run = useMutation((t: Trigger) =>
    api<Build>("POST", `${base}/${seg(t.id)}/start`, {
      body: t.service === "github" ? { refs: { kind: refKind, name: commit.trim() } } : { commit_sha: commit.trim() },
    }),
  );

  const onCreate = async () => {
    const made = await create.run();
    if (!made) return;
    triggers.reload();
    setDialog({ kind: "setup", trigger: made });
  };
  const onToggle = async (t: Trigger) => {
    if ((await toggle.run(t)) === undefined) return;
    toast(t.enabled === false ? "Trigger enabled" : "Trigger disabled");
    triggers.reload();
  };
  const onDelete = async (t: Trigger) => {
    if ((await remove.run(t)) === undefined) return;
    toast("Trigger deleted");
    close();
    triggers.reload();
  };
  const onRun = async (t: Trigger) => {
    const build = await run.run(t);
    if (!build) return;
    close();
    if (build.id) navigate(buildHref(repository, build.id));
  };

  const list = triggers.data?.triggers ?? [];
  return (
    <section className="triggers" aria-labelledby="build-triggers-heading">
      <div className="section-head">
        <h2 id="build-triggers-heading">Build triggers</h2>
        <button type="button" className="btn" onClick={() => setDialog({ kind: "create" })}>
          Create Build Trigger
        </button>
      </div>
      <ErrorBanner error={triggers.error ?? toggle.error ?? create.error} />
      {!triggers.data && triggers.loading ? <Spinner label="Loading triggers" /> : null}
      {triggers.data && list.length === 0 ? (
        <EmptyState title="No build triggers">
          <p>A trigger builds this repository on every push to a git repository.</p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="table-wrap">
          <table className="data triggers-table">
            <caption className="visually-hidden">Build triggers of {repository}</caption>
            <thead>
              <tr>
                <th scope="col">Trigger</th>
                <th scope="col">Source</th>
                <th scope="col">Configuration</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id} data-trigger={t.id}>
                  <th scope="row">{serviceLabel(t.service)}</th>
                  <td className="break">
                    {t.build_source ?? t.config?.build_source ?? <span className="hint">—</span>}
                  </td>
                  <td>{t.is_active === false ? <span className="hint">Not set up</span> : configSummary(t)}</td>
                  <td>
                    <TriggerState trigger={t} />
                  </td>
                  <td className="trigger-actions">
                    {t.is_active === false ? (
                      <button type="button" className="btn" onClick={() => setDialog({ kind: "setup", trigger: t })}>
                        Finish setup
                      </button>
                    ) : null}
                    <RowActions
                      label={`Actions for trigger ${t.id}`}
                      actions={[
                        {
                          label: "View Credentials",
                          hidden: !t.config?.credentials?.length,
                          onSelect: () => setDialog({ kind: "credentials", trigger: t }),
                        },
                        {
                          label: "Run Trigger Now",
                          hidden: t.is_active === false || t.enabled === false,
                          onSelect: () => setDialog({ kind: "run", trigger: t }),
                        },
                        {
                          label: t.enabled === false ? "Enable Trigger" : "Disable Trigger",
                          hidden: t.is_active === false,
                          onSelect: () => onToggle(t),
                        },
                        {
                          label: "Delete Trigger",
                          danger: true,
                          onSelect: () => setDialog({ kind: "delete", trigger: t }),
                        },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {dialog.kind === "create" ? (
        <FormDialog
          title="Create Build Trigger"
          submitLabel="Create"
          busy={create.busy}
          onSubmit={onCreate}
          onClose={close}
        >
          <fieldset className="choice">
            <legend>Where the pushes come from</legend>
            <label>
              <input
                type="radio"
                name="trigger-service"
                checked={service === "custom-git"}
                onChange={() => setService("custom-git")}
              />
              Custom Git: any git server; it calls the trigger's webhook URL and the builder clones with a deploy key
            </label>
            <label>
              <input
                type="radio"
                name="trigger-service"
                checked={service === "github"}
                onChange={() => setService("github")}
              />
              GitHub: a repository's push webhook, its signature checked with the trigger's secret
            </label>
          </fieldset>
          <ErrorBanner error={create.error} />
        </FormDialog>
      ) : null}
      {dialog.kind === "setup" ? (
        <TriggerSetupDialog
          base={`${base}/${seg(dialog.trigger.id)}`}
          trigger={dialog.trigger}
          namespace={namespace}
          onClose={close}
          onActivated={(t) => {
            triggers.reload();
            toast("Trigger activated");
            setDialog(t.config?.credentials?.length ? { kind: "credentials", trigger: t } : { kind: "none" });
          }}
        />
      ) : null}
      {dialog.kind === "credentials" ? (
        <Modal
          title="Trigger credentials"
          open
          onClose={close}
          footer={
            <button type="button" className="btn btn-primary" onClick={close}>
              Done
            </button>
          }
        >
          <p>
            {dialog.trigger.service === "github"
              ? "Add a push webhook to the GitHub repository with this URL and secret (content type application/json)."
              : "Give the git server the deploy key (read access), and have it POST each push to the webhook URL."}
          </p>
          {(dialog.trigger.config?.credentials ?? []).map((c) => (
            <CopyField key={c.name} label={c.name} value={c.value} multiline={c.value.length > 80} />
          ))}
        </Modal>
      ) : null}
      {dialog.kind === "run" ? (
        <FormDialog
          title="Run Trigger Now"
          submitLabel="Start Build"
          busy={run.busy}
          onSubmit={() => onRun(dialog.trigger)}
          onClose={close}
        >
          {dialog.trigger.service === "github" ? (
            <>
              <SelectField
                label="Kind of ref"
                value={refKind}
                options={[
                  { value: "branch", label: "Branch" },
                  { value: "tag", label: "Tag" },
                ]}
                onChange={(e) => setRefKind(e.target.value)}
              />
              <TextField
                label={refKind === "tag" ? "Tag name" : "Branch name"}
                value={commit}
                required
                hint="Its last push to the repository is built again."
                onChange={(e) => setCommit(e.target.value)}
              />
            </>
          ) : (
            <TextField
              label="Commit SHA"
              value={commit}
              required
              pattern="[0-9a-fA-F]{7,64}"
              hint="The commit of the source repository to build."
              onChange={(e) => setCommit(e.target.value)}
            />
          )}
          <ErrorBanner error={run.error} />
        </FormDialog>
      ) : null}
      <ConfirmDialog
        open={dialog.kind === "delete"}
        title="Delete this build trigger?"
        message="Pushes to its source no longer start builds. Builds it already started stay."
        busy={remove.busy}
        onConfirm={() => dialog.kind === "delete" && onDelete(dialog.trigger)}
        onClose={close}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}

function TriggerState({ trigger }: { trigger: Trigger }) {
  if (trigger.is_active === false) return <span className="badge badge-warning">Setup incomplete</span>;
  if (trigger.enabled === false) {
    return (
      <span className="badge badge-phase-cancelled" title={trigger.disabled_reason ?? undefined}>
        Disabled{trigger.disabled_reason ? ` (${trigger.disabled_reason.replaceAll("_", " ")})` : ""}
      </span>
    );
  }
  return <span className="badge badge-phase-complete">Enabled</span>;
}
