/**
 * The Users tab's dialogs: create a user (the registry generates the password and shows it once, as
 * Quay's `createInstallUser` answers it), change a password or an email, delete. Every call goes
 * through the fresh-login prompt (Quay's `@require_fresh_login` on each).
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { ErrorBanner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { FormDialog } from "./FormDialog";
import { useFreshLogin } from "./fresh-login";
import type { CreatedUser, SuperuserUser } from "./types";

interface DialogProps {
  onClose: () => void;
  /** After a change: the list reads the users again. */
  onChanged: () => void;
}

export function CreateUserDialog({ onClose, onChanged, mailing }: DialogProps & { mailing: boolean }) {
  const fresh = useFreshLogin();
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [created, setCreated] = useState<CreatedUser>();
  const create = useMutation(() =>
    fresh(() =>
      api<CreatedUser>("POST", "/superuser/users/", { body: { username: username.trim(), email: email.trim() } }),
    ),
  );
  if (created) {
    return (
      <Modal
        title={`User ${created.username} created`}
        open
        onClose={onClose}
        footer={
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Done
          </button>
        }
      >
        <p>
          The registry generated this password. It is shown only now: copy it and hand it to {created.username}, who can
          change it after signing in.
        </p>
        <CopyField label="Generated password" value={created.password} />
        {mailing ? <p className="hint">A confirmation mail went to {created.email}.</p> : null}
      </Modal>
    );
  }
  return (
    <FormDialog
      title="Create user"
      submitLabel={create.busy ? "Creating…" : "Create user"}
      busy={create.busy}
      onClose={onClose}
      onSubmit={async () => {
        const answer = await create.run();
        if (answer) {
          setCreated(answer);
          onChanged();
        }
      }}
    >
      <TextField
        label="Username"
        required
        autoComplete="off"
        hint="Lower-case letters, digits, and '.', '_' or '-' between them."
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <ErrorBanner error={create.error} />
    </FormDialog>
  );
}

export function ChangePasswordDialog({ user, onClose, onChanged }: DialogProps & { user: SuperuserUser }) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const [password, setPassword] = useState("");
  const change = useMutation(() =>
    fresh(() => api("PUT", `/superuser/users/${seg(user.username)}`, { body: { password } })),
  );
  return (
    <FormDialog
      title={`Change password of ${user.username}`}
      submitLabel={change.busy ? "Changing…" : "Change password"}
      busy={change.busy}
      onClose={onClose}
      onSubmit={async () => {
        if (await change.run()) {
          toast(`Password of ${user.username} changed; their other sessions are signed out`);
          onChanged();
          onClose();
        }
      }}
    >
      <TextField
        label="New password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint="At least 8 characters."
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <ErrorBanner error={change.error} />
    </FormDialog>
  );
}

export function ChangeEmailDialog({ user, onClose, onChanged }: DialogProps & { user: SuperuserUser }) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const [email, setEmail] = useState(user.email ?? "");
  const change = useMutation(() =>
    fresh(() => api("PUT", `/superuser/users/${seg(user.username)}`, { body: { email: email.trim() } })),
  );
  return (
    <FormDialog
      title={`Change email of ${user.username}`}
      submitLabel={change.busy ? "Changing…" : "Change email"}
      busy={change.busy}
      onClose={onClose}
      onSubmit={async () => {
        if (await change.run()) {
          toast(`Email of ${user.username} changed`);
          onChanged();
          onClose();
        }
      }}
    >
      <TextField label="New email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <ErrorBanner error={change.error} />
    </FormDialog>
  );
}

export function DeleteUserDialog({ user, onClose, onChanged }: DialogProps & { user: SuperuserUser }) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const remove = useMutation(() => fresh(() => api("DELETE", `/superuser/users/${seg(user.username)}`)));
  return (
    <ConfirmDialog
      open
      title={`Delete user ${user.username}?`}
      message="The account, its repositories, robot accounts and tokens go for good, and the name becomes free again."
      busy={remove.busy}
      onClose={onClose}
      onConfirm={async () => {
        if ((await remove.run()) !== undefined) {
          toast(`User ${user.username} deleted`);
          onChanged();
          onClose();
        }
      }}
    >
      <ErrorBanner error={remove.error} />
    </ConfirmDialog>
  );
}

export function DisableUserDialog({ user, onClose, onChanged }: DialogProps & { user: SuperuserUser }) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const disable = useMutation(() =>
    fresh(() => api("PUT", `/superuser/users/${seg(user.username)}`, { body: { enabled: false } })),
  );
  return (
    <ConfirmDialog
      open
      title={`Disable user ${user.username}?`}
      message={`${user.username} can no longer sign in, push or pull until enabled again.`}
      confirmLabel="Disable"
      busy={disable.busy}
      onClose={onClose}
      onConfirm={async () => {
        if (await disable.run()) {
          toast(`User ${user.username} disabled`);
          onChanged();
          onClose();
        }
      }}
    >
      <ErrorBanner error={disable.error} />
    </ConfirmDialog>
  );
}
