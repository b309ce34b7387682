/**
 * The Settings tab of one's own `/user/{username}` page (Quay's account settings): avatar, email,
 * password, the time-machine window, application tokens and deleting the account. Every change is
 * Quay's `PUT /api/v1/user/`, behind its fresh-login rule (components/FreshLogin.tsx).
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import { navigate } from "../../router";
import { type CurrentUser, useSession } from "../../session";
import { ExternalLoginSettings } from "../../components/ExternalLoginSettings";
import { type FreshLoginWording, useFreshLogin, type WithFreshLogin } from "../../components/FreshLogin";
import { AppTokens, registryHost } from "./AppTokens";
import { CliPassword } from "./CliPassword";
import { Avatar } from "./Avatar";
import { describeWindow, windowOptions } from "./timeMachine";

/** Quay's own wording on the account page. */
const VERIFY_PASSWORD: FreshLoginWording = {
  title: "Please verify your password",
  intro: "It has been a while since you signed in: confirm your current password to continue.",
  label: "Current password",
  submit: "Verify",
  cancelled: "Your password is needed to do this: nothing was changed.",
};

type Change = { password?: string; email?: string; tag_expiration_s?: number };

export default function AccountSettings({ user }: { user: CurrentUser }) {
  const { refresh, config } = useSession();
  const fresh = useFreshLogin(VERIFY_PASSWORD);
  const change = (body: Change) => fresh.withFreshLogin(() => api<CurrentUser>("PUT", "/user/", { body }));
  return (
    <div className="account-settings">
      <section className="card" aria-labelledby="account-profile">
        <h2 id="account-profile">Profile</h2>
        <div className="account-profile">
          {user.avatar ? <Avatar avatar={user.avatar} size={56} /> : null}
          <div>
            <strong>{user.username}</strong>
            <p className="hint">
              Your avatar is your name's initial on a colour of your own, drawn here without asking any outside service.
            </p>
          </div>
        </div>
      </section>
      <EmailForm user={user} change={change} refresh={refresh} />
      <PasswordForm change={change} hasPassword={user.has_password_set !== false} refresh={refresh} />
      <TimeMachineForm user={user} change={change} refresh={refresh} />
      {user.has_password_set === false ? null : (
        <CliPassword username={user.username} host={registryHost(config.config)} />
      )}
      <AppTokens withFreshLogin={fresh.withFreshLogin} />
      <ExternalLoginSettings />
      <DeleteAccount username={user.username} withFreshLogin={fresh.withFreshLogin} refresh={refresh} />
      {fresh.prompt}
    </div>
  );
}

interface FormProps {
  change: (body: Change) => Promise<CurrentUser>;
  refresh: () => Promise<unknown>;
}

function EmailForm({ user, change, refresh }: FormProps & { user: CurrentUser }) {
  const toast = useToast();
  const [email, setEmail] = useState(user.email ?? "");
  const save = useMutation((address: string) => change({ email: address }));
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const updated = await save.run(email.trim());
    if (!updated) return;
    await refresh();
    // With mailing on, Quay keeps the old address until the new one is confirmed.
    toast(updated.email === email.trim() ? "Email changed" : "Check your inbox to confirm the new address");
  };
  return (
    <section className="card" aria-labelledby="account-email">
      <h2 id="account-email">Email address</h2>
      <form onSubmit={submit} className="account-form">
        <ErrorBanner error={save.error} />
        <TextField
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={save.busy || email.trim() === (user.email ?? "")}>
          Change email
        </button>
      </form>
    </section>
  );
}

/** An account made through an external sign-in has no password until its user sets one (Quay). */
function PasswordForm({ change, hasPassword, refresh }: FormProps & { hasPassword: boolean }) {
  const toast = useToast();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const save = useMutation((pw: string) => change({ password: pw }));
  const mismatch = repeat !== "" && password !== repeat;
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (mismatch) return;
    if (!(await save.run(password))) return;
    setPassword("");
    setRepeat("");
    if (!hasPassword) await refresh();
    toast(hasPassword ? "Password changed" : "Password set");
  };
  return (
    <section className="card" aria-labelledby="account-password">
      <h2 id="account-password">Password</h2>
      <form onSubmit={submit} className="account-form">
        <ErrorBanner error={save.error} />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          hint="At least 8 characters."
          onChange={(e) => setPassword(e.target.value)}
        />
        <TextField
          label="Repeat new password"
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          aria-invalid={mismatch}
          hint={mismatch ? "The passwords do not match." : undefined}
          onChange={(e) => setRepeat(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={save.busy || !password || mismatch}>
          {hasPassword ? "Change password" : "Set password"}
        </button>
      </form>
    </section>
  );
}

function TimeMachineForm({ user, change, refresh }: FormProps & { user: CurrentUser }) {
  const toast = useToast();
  const { config } = useSession();
  const current = typeof user.tag_expiration_s === "number" ? user.tag_expiration_s : undefined;
  const [chosen, setChosen] = useState(String(current ?? ""));
  const options = windowOptions(config.config, current);
  const save = useMutation((seconds: number) => change({ tag_expiration_s: seconds }));
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!(await save.run(Number(chosen)))) return;
    await refresh();
    toast("Time machine window saved");
  };
  return (
    <section className="card" aria-labelledby="account-timemachine">
      <h2 id="account-timemachine">Time machine</h2>
      <p className="hint">
        How long a deleted or moved tag of your repositories can still be restored from the tag history.
      </p>
      <form onSubmit={submit} className="account-form">
        <ErrorBanner error={save.error} />
        <SelectField
          label="Time machine window"
          value={chosen}
          onChange={(e) => setChosen(e.target.value)}
          options={options.map((s) => ({ value: String(s), label: describeWindow(s) }))}
        />
        <button type="submit" className="btn btn-primary" disabled={save.busy || chosen === String(current)}>
          Save window
        </button>
      </form>
    </section>
  );
}

function DeleteAccount({
  username,
  withFreshLogin,
  refresh,
}: {
  username: string;
  withFreshLogin: WithFreshLogin;
  refresh: () => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const remove = useMutation(() => withFreshLogin(() => api("DELETE", "/user/")).then(() => true));
  const confirm = async () => {
    if (!(await remove.run())) return;
    setOpen(false);
    await refresh();
    navigate("/signin", { replace: true });
  };
  return (
    <section className="card account-danger" aria-labelledby="account-delete">
      <h2 id="account-delete">Delete account</h2>
      <p>Deleting your account deletes its repositories and robot accounts. This cannot be undone.</p>
      <ErrorBanner error={open ? undefined : remove.error} />
      <button type="button" className="btn btn-danger" onClick={() => setOpen(true)}>
        Delete account
      </button>
      <ConfirmDialog
        open={open}
        title="Delete account"
        message={`Delete the account ${username}, its repositories and its robot accounts for good?`}
        confirmLabel="Delete account"
        busy={remove.busy}
        onConfirm={confirm}
        onClose={() => {
          setOpen(false);
          remove.clear();
        }}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
