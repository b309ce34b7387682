/**
 * The new-account form of sign-up (`/createaccount`) and of the first-user setup: username,
 * e-mail, password twice (checked to match here, before the API is asked). What creating means is
 * the caller's `onCreate`; its refusal is shown above the fields.
 */
import { useState, type FormEvent } from "react";
import { ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";

export interface NewAccount {
  username: string;
  email: string;
  password: string;
}

export function NewAccountForm({
  initialUsername = "",
  namespaceRule = false,
  submitLabel,
  onCreate,
}: {
  initialUsername?: string;
  /** Show Quay's namespace rule and lower-case the name as it is typed (sign-up). */
  namespaceRule?: boolean;
  submitLabel: string;
  onCreate: (account: NewAccount) => Promise<void>;
}) {
  const [username, setUsername] = useState(initialUsername);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<ApiFailure | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) {
      setError(new ApiFailure(0, "The passwords do not match."));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await onCreate({ username, email, password });
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="card signin-form">
      <ErrorBanner error={error} />
      <TextField
        label="Username"
        autoComplete="username"
        required
        {...(namespaceRule
          ? { minLength: 2, hint: "Lower-case letters, digits and single '.', '_' or '-' between them." }
          : {})}
        value={username}
        onChange={(e) => setUsername(namespaceRule ? e.target.value.toLowerCase() : e.target.value)}
      />
      <TextField
        label="E-mail address"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <TextField
        label="Password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint="At least 8 characters."
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <TextField
        label="Confirm password"
        type="password"
        autoComplete="new-password"
        required
        value={confirm}
        onChange={(e) => setConfirm(e.target.value)}
      />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}
