/**
 * Quay's "Generate Token" for an OAuth application: the admin picks scopes and approves the
 * application for themselves. As Quay's own page does, this is a plain form POSTed to
 * `/oauth/authorizeapp` with the session's CSRF token (`_csrf_token`); the registry answers with a
 * redirect to the chosen redirect URI carrying the token in the fragment, by default the
 * registry's own token page (`/oauth/localapp`), which shows it.
 */
import { useEffect, useId, useState } from "react";
import { useApi } from "../../api/hooks";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { LOCAL_HANDLER, type OAuthApplication, scopesOf } from "./applications";

/** Scopes Quay marks dangerous (`auth/scopes.py`): they act on the whole account or installation. */
const DANGEROUS = new Set(["user:admin", "org:admin", "super:user"]);

/** The session's CSRF token, which the form must carry (the API client sends it as a header instead). */
function useCsrfToken(): { token: string | null; failed: boolean } {
  const [token, setToken] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    fetch("/csrf_token", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as { csrf_token?: string };
        if (!res.ok || !body.csrf_token) throw new Error("no token");
        setToken(body.csrf_token);
      })
      .catch((err) => {
        if ((err as Error).name !== "AbortError") setFailed(true);
      });
    return () => controller.abort();
  }, []);
  return { token, failed };
}

export default function GenerateToken({ app }: { app: OAuthApplication }) {
  const discovery = useApi<unknown>("/discovery");
  const csrf = useCsrfToken();
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const local = `${location.origin}${LOCAL_HANDLER}`;
  const [redirect, setRedirect] = useState(local);
  const groupId = useId();
  const scopes = scopesOf(discovery.data);
  const toggle = (scope: string) =>
    setChosen((all) => {
      const next = new Set(all);
      if (next.has(scope)) next.delete(scope);
      else next.add(scope);
      return next;
    });
  const ordered = scopes.filter((s) => chosen.has(s.scope)).map((s) => s.scope);

  if (discovery.error) return <ErrorBanner error={discovery.error} title="The scope list could not be read" />;
  if (!discovery.data) return <Spinner label="Loading scopes" />;
  return (
    <form method="post" action="/oauth/authorizeapp" className="generate-token">
      <p className="hint">
        A token for yourself, acting with the scopes chosen here. Tokens authenticate only: what they may do is still
        what your account may do.
      </p>
      <fieldset aria-describedby={`${groupId}-hint`}>
        <legend>Scopes</legend>
        <small id={`${groupId}-hint`} className="hint">
          Choose at least one.
        </small>
        {scopes.map((s) => (
          <div className="field field-check" key={s.scope}>
            <input
              id={`${groupId}-${s.scope}`}
              type="checkbox"
              checked={chosen.has(s.scope)}
              onChange={() => toggle(s.scope)}
            />
            <label htmlFor={`${groupId}-${s.scope}`}>
              {s.title} <code>{s.scope}</code>
              {DANGEROUS.has(s.scope) ? <span className="badge badge-warning">broad</span> : null}
            </label>
          </div>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={`${groupId}-redirect`}>Send the token to</label>
        <select id={`${groupId}-redirect`} value={redirect} onChange={(e) => setRedirect(e.target.value)}>
          <option value={local}>This registry's token page</option>
          {app.redirect_uri ? <option value={app.redirect_uri}>The application ({app.redirect_uri})</option> : null}
        </select>
      </div>
      {csrf.failed ? (
        <ErrorBanner error={new Error("The session's CSRF token could not be read: sign in again.")} />
      ) : null}
      <input type="hidden" name="_csrf_token" value={csrf.token ?? ""} />
      <input type="hidden" name="client_id" value={app.client_id} />
      <input type="hidden" name="redirect_uri" value={redirect} />
      <input type="hidden" name="scope" value={ordered.join(" ")} />
      <input type="hidden" name="response_type" value="token" />
      <button type="submit" className="btn btn-primary" disabled={ordered.length === 0 || !csrf.token}>
        Generate access token
      </button>
    </form>
  );
}
