/**
 * `/createaccount`: Quay's sign-up (POST /api/v1/user/, FEATURE_USER_CREATION). The new account
 * is signed in at once; with FEATURE_MAILING it waits for its confirmation mail instead, as Quay's.
 */
import { useState, type FormEvent } from "react";
import { api, ApiFailure } from "../../api/client";
import { EmptyState, ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Link, navigate } from "../../router";
import { useFeature, useSession } from "../../session";
import "./signin.css";

export default function CreateAccount() {
  const { refresh, loading } = useSession();
  const userCreation = useFeature("USER_CREATION");
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<ApiFailure | undefined>();
  const [busy, setBusy] = useState(false);
  const [awaiting, setAwaiting] = useState(false);
  if (!loading && !userCreation)
    return (
      <main className="signin" id="main">
        <h1>Create account</h1>
        <EmptyState title="Account creation is disabled">
          <p>
            Ask an administrator for an account, then <Link to="/signin">sign in</Link>.
          </p>
        </EmptyState>
      </main>
    );
  if (awaiting)
    return (
      <main className="signin" id="main">
        <h1>Check your e-mail</h1>
        <div className="banner banner-info" role="status">
          Your account {username} was created. Follow the link mailed to {email} to confirm your address, then{" "}
          <Link to="/signin">sign in</Link>.
        </div>
      </main>
    );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) {
      setError(new ApiFailure(0, "The passwords do not match."));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await api<{ awaiting_verification?: boolean }>("POST", "/user/", {
        body: { username, email, password },
      });
      if (created?.awaiting_verification) {
        setAwaiting(true);
        return;
      }
      await refresh();
      navigate("/repository/", { replace: true });
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>Create account</h1>
      <form onSubmit={submit} className="card signin-form">
        <ErrorBanner error={error} />
        <TextField
          label="Username"
          autoComplete="username"
          required
          minLength={2}
          hint="Lower-case letters, digits and single '.', '_' or '-' between them."
          value={username}
          onChange={(e) => setUsername(e.target.value.toLowerCase())}
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
          Create account
        </button>
      </form>
      <p className="signin-alt">
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  );
}
