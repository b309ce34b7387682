/**
 * A namespace's auto-prune policies (Quay's "Auto-Prune Policies"): an organization's
 * (`/organization/{org}/autoprunepolicy/`) or the signed-in user's (`/user/autoprunepolicy/`).
 * Each policy keeps the newest N tags (`number_of_tags`) or ends tags older than a span
 * (`creation_date`, e.g. `2w`), optionally only for tags matching, or not matching, a pattern.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { ConfirmDialog } from "../../components/Modal";
import AutoPruneForm, { type PolicyBody } from "./AutoPruneForm";
import type { NamespaceProps } from "./types";
import "./org-more.css";

export interface AutoPrunePolicy extends PolicyBody {
  uuid: string;
}

/** "Keep the newest 10 tags", "Prune tags older than 2w", as a person reads a policy. */
export function describePolicy(policy: PolicyBody): string {
  return policy.method === "number_of_tags"
    ? `Keep the ${policy.value} newest tags`
    : `Prune tags older than ${policy.value}`;
}

export default function AutoPruneTab({ namespace, isOrganization }: NamespaceProps) {
  const base = isOrganization ? `/organization/${seg(namespace)}/autoprunepolicy/` : "/user/autoprunepolicy/";
  const list = useApi<{ policies: AutoPrunePolicy[] }>(base);
  const toast = useToast();
  const [editing, setEditing] = useState<AutoPrunePolicy | "new" | null>(null);
  const [deleting, setDeleting] = useState<AutoPrunePolicy | null>(null);
  const save = useMutation((body: PolicyBody, uuid?: string) =>
    uuid ? api("PUT", `${base}${seg(uuid)}`, { body }) : api("POST", base, { body }),
  );
  const remove = useMutation((uuid: string) => api("DELETE", `${base}${seg(uuid)}`));

  const submit = async (body: PolicyBody) => {
    const uuid = editing && editing !== "new" ? editing.uuid : undefined;
    const done = await save.run(body, uuid);
    // useMutation resolves undefined after storing an error; a PUT's 204 is null.
    if (done === undefined) return;
    toast(uuid ? "Policy saved" : "Policy added");
    setEditing(null);
    list.reload();
  };
  const confirmDelete = async () => {
    if (!deleting) return;
    if ((await remove.run(deleting.uuid)) === undefined) return;
    toast("Policy deleted");
    setDeleting(null);
    list.reload();
  };

  if (list.error?.status === 404) {
    return <EmptyState title="Auto-pruning is turned off on this registry" />;
  }
  const policies = list.data?.policies ?? [];
  return (
    <div className="org-more">
      <div className="toolbar">
        <h2>Auto-prune policies</h2>
        <button type="button" className="btn btn-primary" onClick={() => setEditing(editing ? null : "new")}>
          {editing ? "Cancel" : "Add policy"}
        </button>
      </div>
      <p className="hint">
        Policies run on every repository of {isOrganization ? "the organization" : "your namespace"}; pruned tags stay
        in the time machine for its window.
      </p>
      {editing ? (
        <section className="card" aria-label={editing === "new" ? "New policy" : "Edit policy"}>
          <h3>{editing === "new" ? "New policy" : "Edit policy"}</h3>
          <ErrorBanner error={save.error} />
          <AutoPruneForm
            key={editing === "new" ? "new" : editing.uuid}
            initial={editing === "new" ? undefined : editing}
            busy={save.busy}
            onSubmit={submit}
          />
        </section>
      ) : null}
      <ErrorBanner error={list.error} />
      {!list.data && !list.error ? <Spinner label="Loading policies" /> : null}
      {list.data && policies.length === 0 ? (
        <EmptyState title="No auto-prune policies">Tags are kept until someone deletes them or they expire.</EmptyState>
      ) : null}
      {policies.length > 0 ? (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Policy</th>
                <th scope="col">Tag pattern</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {policies.map((policy) => (
                <tr key={policy.uuid}>
                  <td>{describePolicy(policy)}</td>
                  <td>
                    {policy.tagPattern ? (
                      <>
                        {policy.tagPatternMatches ? "matching " : "not matching "}
                        <code>{policy.tagPattern}</code>
                      </>
                    ) : (
                      "all tags"
                    )}
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="btn"
                      aria-label={`Edit policy: ${describePolicy(policy)}`}
                      onClick={() => setEditing(policy)}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      className="btn"
                      aria-label={`Delete policy: ${describePolicy(policy)}`}
                      onClick={() => setDeleting(policy)}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete policy"
        message={deleting ? `Delete the policy "${describePolicy(deleting)}"?` : ""}
        busy={remove.busy}
        onConfirm={confirmDelete}
        onClose={() => {
          setDeleting(null);
          remove.clear();
        }}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </div>
  );
}
