/**
 * An organization's settings (Quay's "Settings" tab): its email, its time-machine window
 * (`tag_expiration_s`, one of the registry's TAG_EXPIRATION_OPTIONS), organization mirroring when
 * the registry offers it (./OrgMirrorSettings.tsx), and deleting the organization, confirmed by
 * typing its name and, when the API asks for a fresh login, the admin's password.
 */
import { lazy, Suspense, useState } from "react";
import { describeWindow, windowOptions } from "../account/timeMachine";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import { type FreshLoginWording, useFreshLogin } from "../../components/FreshLogin";
import { navigate } from "../../router";
import { useFeature, useSession } from "../../session";
import type { OrganizationTabProps } from "./types";
import "./org-more.css";

const CONFIRM_PASSWORD: FreshLoginWording = {
  title: "Confirm your password",
  intro: "This change needs your password again: your sign-in is no longer recent.",
  label: "Password",
  submit: "Confirm",
};

const OrgMirrorSettings = lazy(() => import("./OrgMirrorSettings"));

export default function OrgSettingsTab({ org, orgname, reload }: OrganizationTabProps) {
  const { config, refresh } = useSession();
  const orgMirror = useFeature("ORG_MIRROR");
  const toast = useToast();
  const [email, setEmail] = useState(org.email ?? "");
  const [expiration, setExpiration] = useState(String(org.tag_expiration_s ?? ""));
  const [deleting, setDeleting] = useState(false);
  const [typed, setTyped] = useState("");
  const { withFreshLogin, prompt } = useFreshLogin(CONFIRM_PASSWORD);

  // The same windows, in the same words, as the account page offers (Quay's TAG_EXPIRATION_OPTIONS).
  const options = windowOptions(config.config, expiration ? Number(expiration) : undefined).map((seconds) => ({
    value: String(seconds),
    label: describeWindow(seconds),
  }));

  const save = useMutation(() =>
    withFreshLogin(() =>
      api("PUT", `/organization/${seg(orgname)}`, {
        // An organization made without an email may keep none: only what is filled in is sent.
        body: {
          ...(email.trim() ? { email: email.trim() } : {}),
          ...(expiration ? { tag_expiration_s: Number(expiration) } : {}),
        },
      }),
    ),
  );
  const remove = useMutation(() => withFreshLogin(() => api("DELETE", `/organization/${seg(orgname)}`)));

  return (
    <div className="org-more">
      <h2>Settings</h2>
      <form
        className="card"
        aria-label="Organization settings"
        onSubmit={async (event) => {
          event.preventDefault();
          if ((await save.run()) === undefined) return;
          toast("Organization settings saved");
          reload();
        }}
      >
        <ErrorBanner error={save.error} />
        <TextField
          label="Organization email"
          type="email"
          maxLength={255}
          hint="Notifications about the organization go here."
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <SelectField
          label="Time machine"
          value={expiration}
          onChange={(e) => setExpiration(e.target.value)}
          options={options}
        />
        <p className="hint">How long deleted or moved tags can still be restored.</p>
        <button type="submit" className="btn btn-primary" disabled={save.busy}>
          Save settings
        </button>
      </form>

      {orgMirror ? (
        <Suspense fallback={<Spinner label="Loading organization mirroring" />}>
          <OrgMirrorSettings orgname={orgname} />
        </Suspense>
      ) : null}

      <section className="card danger-zone" aria-labelledby="delete-org-title">
        <h3 id="delete-org-title">Delete organization</h3>
        <p>Deleting the organization deletes its repositories, robots, teams and applications. It cannot be undone.</p>
        <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
          Delete organization
        </button>
      </section>
      <ConfirmDialog
        open={deleting}
        title="Delete organization"
        message={`Everything in ${orgname} is deleted. Type the organization's name to confirm.`}
        confirmLabel="Delete organization"
        busy={remove.busy || typed !== orgname}
        onConfirm={async () => {
          if ((await remove.run()) === undefined) return;
          setDeleting(false);
          toast(`Organization ${orgname} deleted`);
          await refresh();
          navigate("/organization/");
        }}
        onClose={() => {
          setDeleting(false);
          setTyped("");
          remove.clear();
        }}
      >
        <ErrorBanner error={remove.error} />
        <TextField
          label="Organization name"
          autoComplete="off"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
        />
      </ConfirmDialog>
      {prompt}
    </div>
  );
}
