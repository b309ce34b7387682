/**
 * First-user setup (Quay's FEATURE_USER_INITIALIZE): a registry without any account offers to
 * create its first one, a superuser (`POST /api/v1/user/initialize`; the name must be listed in
 * SUPER_USERS), then signs it in.
 */
import { useState, type FormEvent } from "react";
import { api, ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";

export function InitializeRegistry({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [username, setUsername] = useState("admin");
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
      await api("POST", "/user/initialize", { body: { username, email, password } });
      await api("POST", "/signin", { body: { username, password } });
      await onSignedIn();
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>Set up Wharf</h1>
      <p className="signin-lead">
        This registry has no accounts yet. Create its first one: a superuser, whose name must be listed in SUPER_USERS.
      </p>
      <form onSubmit={submit} className="card signin-form">
        <ErrorBanner error={error} />
        <TextField
          label="Username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
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
          Create superuser
        </button>
      </form>
    </main>
  );
}
