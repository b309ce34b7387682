/**
 * `/signin`: Quay's sign-in with username and password (POST /api/v1/signin, whose refusals say
 * `invalidCredentials` or `needsEmailVerification`), the external OpenID Connect providers of
 * `/config`, the way to create an account when FEATURE_USER_CREATION allows it, and, on a registry
 * without any account, the first user's setup instead.
 */
import { useState, type FormEvent } from "react";
import { api, ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Link, navigate, useLocation } from "../../router";
import { useFeature, useSession } from "../../session";
import { ExternalLogins } from "./ExternalLogins";
import { InitializeRegistry } from "./InitializeRegistry";
import "./signin.css";

/** Only a same-origin path may be a redirect target (never `//host` or a scheme). */
export function safeRedirect(value: string | null): string {
  return value && /^\/(?![/\\])/.test(value) ? value : "/repository/";
}

/** What a refused sign-in tells the person, in Quay's terms. */
function refusalOf(err: unknown): ApiFailure {
  if (!(err instanceof ApiFailure)) return new ApiFailure(0, String(err));
  const body = (err.body ?? {}) as { needsEmailVerification?: boolean; invalidCredentials?: boolean };
  if (body.needsEmailVerification)
    return new ApiFailure(
      err.status,
      "You must verify your e-mail address before signing in: follow the link in the confirmation mail.",
      err.body,
    );
  if (body.invalidCredentials) return new ApiFailure(err.status, "Invalid username or password.", err.body);
  return err;
}

export default function SignIn() {
  const location = useLocation();
  const { refresh, config } = useSession();
  const userCreation = useFeature("USER_CREATION");
  const [initialized, setInitialized] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiFailure | undefined>();
  const [busy, setBusy] = useState(false);
  const target = safeRedirect(location.search.get("redirect"));
  const signedIn = async () => {
    await refresh();
    navigate(target, { replace: true });
  };
  if (config.needs_initialization && !initialized)
    return (
      <InitializeRegistry
        onSignedIn={async () => {
          setInitialized(true);
          await signedIn();
        }}
      />
    );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api("POST", "/signin", { body: { username, password } });
      await signedIn();
    } catch (err) {
      setError(refusalOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin" id="main">
      <h1>Sign in to Wharf</h1>
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
        <ExternalLogins providers={config.external_login ?? []} redirect={target} />
      </form>
      {userCreation ? (
        <p className="signin-alt">
          No account yet? <Link to="/createaccount">Create account</Link>
        </p>
      ) : null}
    </main>
  );
}
