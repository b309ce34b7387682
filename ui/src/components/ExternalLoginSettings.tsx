/**
 * The signed-in account's external logins (Quay's account settings, "External Logins"): for each
 * provider of `/config`, whether the account is attached to it (the user view's `logins`), a
 * button to attach (`POST /api/v1/externallogin/{id}` with kind `attach`, then the provider, then
 * back to this page) and one to detach (`POST /api/v1/detachexternal/{id}`, confirmed first).
 * Nothing shows when the registry has no external provider. For the account settings screen.
 */
import { useState } from "react";
import { api, ApiFailure } from "../api/client";
import { useMutation } from "../api/hooks";
import { useLocation } from "../router";
import { type ExternalLogin, useSession } from "../session";
import { ErrorBanner, useToast } from "./feedback";
import { ConfirmDialog } from "./Modal";

interface LinkedLogin {
  service: string;
  service_identifier: string;
  metadata?: { service_username?: string | null };
}

const isHttp = (url: unknown): url is string => typeof url === "string" && /^https?:\/\//i.test(url);

export function ExternalLoginSettings() {
  const { user, config, refresh } = useSession();
  const location = useLocation();
  const toast = useToast();
  const [detaching, setDetaching] = useState<ExternalLogin | null>(null);
  const attach = useMutation(async (provider: ExternalLogin) => {
    const { auth_url } = await api<{ auth_url: string }>("POST", `/externallogin/${encodeURIComponent(provider.id)}`, {
      body: { kind: "attach", redirect: location.href },
    });
    if (!isHttp(auth_url)) throw new ApiFailure(0, "The provider's address is not a web address.");
    window.location.assign(auth_url);
  });
  const detach = useMutation(async (provider: ExternalLogin) => {
    await api("POST", `/detachexternal/${encodeURIComponent(provider.id)}`);
    await refresh();
    setDetaching(null);
    toast(`Detached from ${provider.title}`);
  });
  const providers = config.external_login ?? [];
  if (!user || providers.length === 0) return null;
  const logins = (Array.isArray(user.logins) ? user.logins : []) as LinkedLogin[];
  return (
    <section className="card" aria-labelledby="external-logins-title">
      <h2 id="external-logins-title">External logins</h2>
      <ErrorBanner error={attach.error ?? (detaching ? undefined : detach.error)} />
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Status</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {providers.map((provider) => {
              const linked = logins.find((login) => login.service === provider.id);
              return (
                <tr key={provider.id}>
                  <td>{provider.title}</td>
                  <td>
                    {linked
                      ? `Attached as ${linked.metadata?.service_username || linked.service_identifier}`
                      : "Not attached"}
                  </td>
                  <td>
                    {linked ? (
                      <button type="button" className="btn btn-danger" onClick={() => setDetaching(provider)}>
                        Detach {provider.title}
                      </button>
                    ) : (
                      <button type="button" className="btn" disabled={attach.busy} onClick={() => attach.run(provider)}>
                        Attach {provider.title}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <ConfirmDialog
        open={detaching !== null}
        title="Detach external login"
        message={`Signing in with ${detaching?.title ?? ""} will no longer reach this account.`}
        confirmLabel="Detach"
        busy={detach.busy}
        onConfirm={() => detaching && detach.run(detaching)}
        onClose={() => {
          setDetaching(null);
          detach.clear();
        }}
      >
        <ErrorBanner error={detach.error} />
      </ConfirmDialog>
    </section>
  );
}
