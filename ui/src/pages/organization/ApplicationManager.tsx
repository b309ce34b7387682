/**
 * One OAuth application, opened from the list: its client id and secret (with Quay's "Reset Client
 * Secret"), its settings, and "Generate Token" (./GenerateToken.tsx).
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { ErrorBanner, useToast } from "../../components/feedback";
import { ConfirmDialog } from "../../components/Modal";
import ApplicationForm, { type ApplicationFields } from "./ApplicationForm";
import type { OAuthApplication } from "./applications";
import GenerateToken from "./GenerateToken";

export default function ApplicationManager({
  base,
  app,
  onChanged,
}: {
  /** `/organization/{org}/applications/{client_id}` */
  base: string;
  app: OAuthApplication;
  onChanged: () => void;
}) {
  const toast = useToast();
  const [confirmReset, setConfirmReset] = useState(false);
  const update = useMutation((fields: ApplicationFields) => api<OAuthApplication>("PUT", base, { body: fields }));
  const reset = useMutation(() => api<OAuthApplication>("POST", `${base}/resetclientsecret`));

  const save = async (fields: ApplicationFields) => {
    if (await update.run(fields)) {
      toast("Application settings saved");
      onChanged();
    }
  };
  const resetSecret = async () => {
    if (await reset.run()) {
      toast("Client secret reset");
      setConfirmReset(false);
      onChanged();
    }
  };

  return (
    <section className="card app-manager" aria-labelledby="app-manager-title">
      <h3 id="app-manager-title">{app.name}</h3>
      {app.description ? <p className="hint">{app.description}</p> : null}

      <h4>OAuth information</h4>
      <CopyField label="Client ID" value={app.client_id} />
      <CopyField label="Client secret" value={app.client_secret} />
      <button type="button" className="btn" onClick={() => setConfirmReset(true)}>
        Reset client secret
      </button>

      <h4>Generate token</h4>
      <GenerateToken app={app} />

      <h4>Settings</h4>
      <ErrorBanner error={update.error} />
      <ApplicationForm
        initial={{
          name: app.name,
          application_uri: app.application_uri,
          redirect_uri: app.redirect_uri,
          avatar_email: app.avatar_email ?? "",
          description: app.description,
        }}
        submitLabel="Save settings"
        busy={update.busy}
        onSubmit={save}
      />

      <ConfirmDialog
        open={confirmReset}
        title="Reset client secret"
        message="Programs using the current secret stop working until they are given the new one."
        confirmLabel="Reset secret"
        busy={reset.busy}
        onConfirm={resetSecret}
        onClose={() => {
          setConfirmReset(false);
          reset.clear();
        }}
      >
        <ErrorBanner error={reset.error} />
      </ConfirmDialog>
    </section>
  );
}
