/**
 * The "Sign in with <provider>" buttons of the external OpenID Connect providers `/config` lists
 * (Quay's external_login): each asks `POST /api/v1/externallogin/{id}` for the provider's
 * authorization URL (its state bound to this browser by a cookie) and goes there.
 */
import { useState } from "react";
import { api, ApiFailure } from "../../api/client";
import { ErrorBanner } from "../../components/feedback";
import type { ExternalLogin } from "../../session";

const isHttp = (url: unknown): url is string => typeof url === "string" && /^https?:\/\//i.test(url);

export function ExternalLogins({ providers, redirect }: { providers: ExternalLogin[]; redirect: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiFailure | undefined>();
  if (providers.length === 0) return null;
  const start = async (provider: ExternalLogin) => {
    setBusy(provider.id);
    setError(undefined);
    try {
      const { auth_url } = await api<{ auth_url: string }>(
        "POST",
        `/externallogin/${encodeURIComponent(provider.id)}`,
        {
          body: { kind: "login", redirect },
        },
      );
      if (!isHttp(auth_url)) throw new ApiFailure(0, "The provider's address is not a web address.");
      window.location.assign(auth_url);
    } catch (err) {
      setError(err instanceof ApiFailure ? err : new ApiFailure(0, String(err)));
      setBusy(null);
    }
  };
  return (
    <div className="signin-external">
      <div className="signin-divider">or</div>
      <ErrorBanner error={error} />
      {providers.map((provider) => (
        <button
          key={provider.id}
          type="button"
          className="btn"
          disabled={busy !== null}
          onClick={() => start(provider)}
        >
          {isHttp(provider.icon) ? <img src={provider.icon} alt="" /> : null}
          Sign in with {provider.title}
        </button>
      ))}
    </div>
  );
}
