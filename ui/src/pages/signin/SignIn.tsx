/** `/signin`: Quay's sign-in with username and password (POST /api/v1/signin). */
import { useState, type FormEvent } from "react";
import { api, ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Link, navigate, useLocation } from "../../router";
import { useSession } from "../../session";

/** Only a same-origin path may be a redirect target (never `//host` or a scheme). */
export function safeRedirect(value: string | null): string {
  return value && /^\/(?![/\\])/.test(value) ? value : "/repository/";
}

export default function SignIn() {
  const location = useLocation();
  const { refresh } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiFailure | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api("POST", "/signin", { body: { username, password } });
      await refresh();
      navigate(safeRedirect(location.search.get("redirect")), { replace: true });
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>Sign in to Wharf</h1>
      <form onSubmit={submit} className="card">
        <ErrorBanner error={error} />
        <TextField
          label="Username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Sign in
        </button>
        <p>
          <Link to="/createaccount">Create account</Link>
        </p>
      </form>
    </main>
  );
}
