/**
 * Application tokens (Quay `/api/v1/user/apptoken`): passwords for the registry clients that can
 * be revoked one by one. A new token's code is shown at once in Quay's credential formats: the
 * token, `podman login` and `docker login` with the username `$app` (single-quoted so no shell
 * expands it); as in Quay, a listed token's title shows them again (`GET …/apptoken/{uuid}`).
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { CopyField } from "../../components/CopyField";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import type { WithFreshLogin } from "../../components/FreshLogin";
import { formatDate, formatRelative } from "../../components/format";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { useSession } from "../../session";

export interface AppToken {
  uuid: string;
  title: string;
  created: string | null;
  last_accessed: string | null;
  expiration: string | null;
  token_code?: string;
}

/** The registry's host as clients name it: Quay's SERVER_HOSTNAME when `/config` gives it. */
export function registryHost(config: Record<string, unknown> | undefined): string {
  const named = config?.SERVER_HOSTNAME;
  return typeof named === "string" && named ? named : location.host;
}

export function AppTokens({ withFreshLogin }: { withFreshLogin: WithFreshLogin }) {
  const toast = useToast();
  const tokens = useApi<{ tokens: AppToken[] }>("/user/apptoken");
  const [creating, setCreating] = useState(false);
  const [title, setTitle] = useState("");
  const [created, setCreated] = useState<AppToken | null>(null);
  const [revoking, setRevoking] = useState<AppToken | null>(null);
  const create = useMutation((name: string) =>
    withFreshLogin(() => api<{ token: AppToken }>("POST", "/user/apptoken", { body: { title: name } })),
  );
  const view = useMutation((uuid: string) => api<{ token: AppToken }>("GET", `/user/apptoken/${seg(uuid)}`));
  const revoke = useMutation((uuid: string) => api("DELETE", `/user/apptoken/${seg(uuid)}`).then(() => true));

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const answer = await create.run(title.trim());
    if (!answer) return;
    setCreating(false);
    setTitle("");
    setCreated(answer.token);
    tokens.reload();
  };
  const confirmRevoke = async () => {
    if (!revoking || !(await revoke.run(revoking.uuid))) return;
    toast(`Token ${revoking.title} revoked`);
    setRevoking(null);
    tokens.reload();
  };
  const list = tokens.data?.tokens ?? [];
  return (
    <section className="card" aria-labelledby="account-apptokens">
      <div className="account-section-head">
        <h2 id="account-apptokens">Application tokens</h2>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          Create application token
        </button>
      </div>
      <p className="hint">
        Sign in to the registry from podman, docker or a script with an application token instead of your password, and
        revoke it alone when it is no longer needed.
      </p>
      <ErrorBanner error={tokens.error ?? view.error} />
      {tokens.data === undefined && !tokens.error ? <Spinner label="Loading application tokens" /> : null}
      {tokens.data && list.length === 0 ? <EmptyState title="No application tokens" /> : null}
      {list.length ? (
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">Application tokens</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((token) => (
                <tr key={token.uuid}>
                  <td>
                    <button
                      type="button"
                      className="btn-plain btn-link"
                      disabled={view.busy}
                      onClick={async () => {
                        const answer = await view.run(token.uuid);
                        if (answer) setCreated(answer.token);
                      }}
                    >
                      {token.title}
                    </button>
                  </td>
                  <td>{formatDate(token.created)}</td>
                  <td>{token.last_accessed ? formatRelative(token.last_accessed) : "Never"}</td>
                  <td>{token.expiration ? formatDate(token.expiration) : "Never"}</td>
                  <td>
                    <button
                      type="button"
                      className="btn btn-danger"
                      aria-label={`Revoke ${token.title}`}
                      onClick={() => setRevoking(token)}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <Modal title="Create application token" open={creating} onClose={() => setCreating(false)}>
        <form onSubmit={submit}>
          <ErrorBanner error={create.error} />
          <TextField
            label="Token title"
            required
            maxLength={255}
            value={title}
            hint="What the token is for, e.g. the machine or script that uses it."
            onChange={(e) => setTitle(e.target.value)}
          />
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setCreating(false)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={create.busy || !title.trim()}>
              Create token
            </button>
          </div>
        </form>
      </Modal>
      <NewTokenDialog token={created} onClose={() => setCreated(null)} />
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke application token"
        message={`Revoke ${revoking?.title ?? "this token"}? Clients signed in with it can no longer use it.`}
        confirmLabel="Revoke token"
        busy={revoke.busy}
        onConfirm={confirmRevoke}
        onClose={() => {
          setRevoking(null);
          revoke.clear();
        }}
      >
        <ErrorBanner error={revoke.error} />
      </ConfirmDialog>
    </section>
  );
}

function NewTokenDialog({ token, onClose }: { token: AppToken | null; onClose: () => void }) {
  const { config } = useSession();
  const host = registryHost(config.config);
  const code = token?.token_code ?? "";
  return (
    <Modal
      title={`Application token ${token?.title ?? ""}`}
      open={token !== null}
      onClose={onClose}
      footer={
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Done
        </button>
      }
    >
      <p className="banner banner-warning">Copy the token now and keep it secret: it signs in as you.</p>
      <CopyField label="Username" value="$app" />
      <CopyField label="Application token" value={code} />
      <CopyField label="Podman login" value={`podman login -u='$app' -p='${code}' ${host}`} />
      <CopyField label="Docker login" value={`docker login -u='$app' -p='${code}' ${host}`} />
    </Modal>
  );
}
