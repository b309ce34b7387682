/**
 * `/oauth/authorize`: Quay's consent screen. The Worker has checked the request before serving
 * this page (an unknown client or a redirect URI the application did not register never gets
 * here as a 200; src/routes/oauth-authorize.ts); the screen reads the same URL as JSON for the
 * application, the scopes in words and the session's CSRF token, and approves or cancels with a
 * plain HTML form, so the Worker's redirect takes the browser back to the application.
 */
import { useEffect, useState } from "react";
import { ApiFailure, messageOf } from "../../api/client";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { navigate, useLocation } from "../../router";
import { useSession } from "../../session";
import "./authorize.css";

interface ScopeInfo {
  scope: string;
  title: string;
  description: string;
  dangerous: boolean;
}

interface Consent {
  application: {
    name: string;
    description: string;
    url: string;
    avatar: { name: string; color: string };
    organization: { name: string };
  };
  client_id: string;
  redirect_uri: string;
  scope: string;
  scopes: ScopeInfo[];
  has_dangerous_scopes: boolean;
  response_type: "token" | "code";
  state: string | null;
  already_authorized: boolean;
  csrf_token: string;
}

const isHttp = (url: string) => /^https?:\/\//i.test(url);
const COLOR = /^#[0-9a-f]{3,8}$/i;

/** The request's details, or the Worker's refusal in its own words. */
async function readConsent(href: string): Promise<Consent> {
  const res = await fetch(href, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw new ApiFailure(res.status, messageOf(res.status, body), body);
  return body as Consent;
}

function AppAvatar({ name, color }: { name: string; color: string }) {
  return (
    <svg className="oauth-avatar" viewBox="0 0 48 48" aria-hidden="true">
      <rect width="48" height="48" rx="8" fill={COLOR.test(color) ? color : "#545b64"} />
      <text x="24" y="31" textAnchor="middle" fill="#fff" fontSize="22" fontWeight="600">
        {name.slice(0, 1).toUpperCase()}
      </text>
    </svg>
  );
}

export default function Authorize() {
  const location = useLocation();
  const { user } = useSession();
  const [consent, setConsent] = useState<Consent | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);

  useEffect(() => {
    let live = true;
    readConsent(location.href)
      .then((found) => {
        if (!live) return;
        // Reached inside the app (after signing in): the Worker redirects at once by itself.
        if (found.already_authorized) window.location.replace(location.href);
        else setConsent(found);
      })
      .catch((err: unknown) => {
        if (!live) return;
        if (err instanceof ApiFailure && err.status === 401) {
          navigate(`/signin?redirect=${encodeURIComponent(location.href)}`, { replace: true });
        } else setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
      });
    return () => {
      live = false;
    };
  }, [location.href]);

  if (error) {
    return (
      <main className="oauth-consent" id="main">
        <h1>Authorize application</h1>
        <ErrorBanner error={error} title="This authorization request cannot be granted" />
        <p>Ask the application's developers to check its client id and redirect URI.</p>
      </main>
    );
  }
  if (!consent || consent.already_authorized) return <Spinner label="Checking the request" />;

  const { application: app } = consent;
  const target = new URL(consent.redirect_uri);
  const hidden: [string, string][] = [
    ["client_id", consent.client_id],
    ["redirect_uri", consent.redirect_uri],
    ["scope", consent.scope],
    ["response_type", consent.response_type],
    ["_csrf_token", consent.csrf_token],
    ...(consent.state !== null ? ([["state", consent.state]] as [string, string][]) : []),
  ];
  return (
    <main className="oauth-consent" id="main">
      <form method="post" action="/oauth/authorizeapp" className="card">
        <header className="oauth-app">
          <AppAvatar name={app.avatar.name || app.name} color={app.avatar.color} />
          <div>
            <h1>Authorize {app.name}</h1>
            <p className="oauth-muted">
              An application of the organization <strong>{app.organization.name}</strong>
              {isHttp(app.url) ? (
                <>
                  {" · "}
                  <a href={app.url} rel="noopener noreferrer" target="_blank">
                    {new URL(app.url).host}
                  </a>
                </>
              ) : null}
            </p>
          </div>
        </header>
        {app.description ? <p>{app.description}</p> : null}
        <p>
          <strong>{app.name}</strong> is asking to act for {user ? <strong>{user.username}</strong> : "you"} with these
          permissions:
        </p>
        {consent.has_dangerous_scopes ? (
          <div className="banner banner-warning" role="note">
            Some of these permissions are dangerous: grant them only to an application you trust completely.
          </div>
        ) : null}
        <ul className="oauth-scopes">
          {consent.scopes.map((scope) => (
            <li key={scope.scope}>
              <strong>{scope.title}</strong>
              {scope.dangerous ? <span className="badge badge-warning">Dangerous</span> : null}
              <code className="oauth-scope-name">{scope.scope}</code>
              <p>{scope.description}</p>
            </li>
          ))}
        </ul>
        <p className="oauth-muted">
          Either way you will be sent back to <code>{target.host || target.protocol}</code>.
        </p>
        {hidden.map(([name, value]) => (
          <input key={name} type="hidden" name={name} value={value} />
        ))}
        <div className="oauth-actions">
          <button type="submit" className="btn btn-primary">
            Authorize application
          </button>
          <button type="submit" className="btn" formAction="/oauth/denyapp" formNoValidate>
            Cancel
          </button>
        </div>
      </form>
    </main>
  );
}
