/**
 * An organization's OAuth applications (Quay's "OAuth Applications" tab): the list, creating and
 * deleting one, and, for the one opened, its credentials, settings and token generation
 * (./ApplicationManager.tsx). Only the organization's admins see the tab.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { ConfirmDialog } from "../../components/Modal";
import ApplicationForm, { type ApplicationFields } from "./ApplicationForm";
import ApplicationManager from "./ApplicationManager";
import { httpUrl, type OAuthApplication } from "./applications";
import type { OrganizationTabProps } from "./types";
import "./org-more.css";

export default function ApplicationsTab({ orgname }: OrganizationTabProps) {
  const base = `/organization/${seg(orgname)}/applications`;
  const list = useApi<{ applications: OAuthApplication[] }>(base);
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<OAuthApplication | null>(null);
  const create = useMutation((fields: ApplicationFields) => api<OAuthApplication>("POST", base, { body: fields }));
  const remove = useMutation((app: OAuthApplication) => api("DELETE", `${base}/${seg(app.client_id)}`));

  const submitNew = async (fields: ApplicationFields) => {
    const app = await create.run(fields);
    if (!app) return;
    toast(`Application ${app.name} created`);
    setCreating(false);
    setOpenId(app.client_id);
    list.reload();
  };
  const confirmDelete = async () => {
    if (!deleting) return;
    // undefined: refused (the dialog shows why); the 204 answer is null.
    if ((await remove.run(deleting)) === undefined) return;
    toast(`Application ${deleting.name} deleted`);
    if (openId === deleting.client_id) setOpenId(null);
    setDeleting(null);
    list.reload();
  };

  const apps = list.data?.applications ?? [];
  const opened = apps.find((a) => a.client_id === openId);
  return (
    <div className="org-more">
      <div className="toolbar">
        <h2>OAuth applications</h2>
        <button type="button" className="btn btn-primary" onClick={() => setCreating((v) => !v)}>
          {creating ? "Cancel" : "Create application"}
        </button>
      </div>
      {creating ? (
        <section className="card" aria-label="New application">
          <h3>New OAuth application</h3>
          <ErrorBanner error={create.error} />
          <ApplicationForm submitLabel="Create application" busy={create.busy} onSubmit={submitNew} />
        </section>
      ) : null}
      <ErrorBanner error={list.error} />
      {!list.data && !list.error ? <Spinner label="Loading applications" /> : null}
      {list.data && apps.length === 0 ? (
        <EmptyState title="No OAuth applications">
          Applications let other programs act for the users who authorize them, with the scopes they approve.
        </EmptyState>
      ) : null}
      {apps.length > 0 ? (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Application name</th>
                <th scope="col">Application URI</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {apps.map((app) => (
                <tr key={app.client_id}>
                  <td>
                    <button
                      type="button"
                      className="btn-plain"
                      aria-expanded={openId === app.client_id}
                      onClick={() => setOpenId(openId === app.client_id ? null : app.client_id)}
                    >
                      {app.name}
                    </button>
                  </td>
                  <td className="wrap-anywhere">
                    {httpUrl(app.application_uri) ? (
                      <a href={app.application_uri} rel="noopener noreferrer" target="_blank">
                        {app.application_uri}
                      </a>
                    ) : (
                      app.application_uri || "—"
                    )}
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="btn"
                      aria-label={`Delete application ${app.name}`}
                      onClick={() => setDeleting(app)}
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
      {opened ? (
        <ApplicationManager
          key={opened.client_id}
          base={`${base}/${seg(opened.client_id)}`}
          app={opened}
          onChanged={list.reload}
        />
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete application"
        message={`Delete ${deleting?.name ?? ""}? Every token it holds stops working.`}
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
