/**
 * An organization as a pull-through cache of an upstream registry (Quay's "Proxy Cache" settings):
 * the upstream (`host` or `host/namespace`), its credentials (sent, sealed, never shown again),
 * how long a cached tag lives after its last pull, and whether the upstream is plain HTTP or has
 * an unverified certificate. As Quay's page does, saving first asks the registry to validate the
 * configuration against the upstream (`POST …/validateproxycache`), then stores it.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CheckboxField, TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import type { OrganizationTabProps } from "./types";
import "./org-more.css";

/** Quay's answer: empty strings everywhere when the organization is no cache. */
interface ProxyCacheConfig {
  upstream_registry: string;
  expiration_s: number | "";
  insecure: boolean | "";
}

/** Quay's DEFAULT_PROXY_CACHE_EXPIRATION: a day. */
const DEFAULT_EXPIRATION_S = 86_400;

/** 86400 → "1 day", 5400 → "5400 seconds": whole units only, so nothing is rounded away. */
function describeSeconds(seconds: number): string {
  for (const [unit, size] of [
    ["week", 604_800],
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

export default function ProxyCacheTab({ orgname }: OrganizationTabProps) {
  const base = `/organization/${seg(orgname)}`;
  const current = useApi<ProxyCacheConfig>(`${base}/proxycache`);
  const toast = useToast();
  const [upstream, setUpstream] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [expiration, setExpiration] = useState(String(DEFAULT_EXPIRATION_S));
  const [insecure, setInsecure] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const body = () => ({
    org_name: orgname,
    upstream_registry: upstream.trim(),
    upstream_registry_username: username || null,
    upstream_registry_password: password || null,
    expiration_s: Number(expiration),
    insecure,
  });
  const save = useMutation(async () => {
    const verdict = await api<string>("POST", `${base}/validateproxycache`, { body: body() });
    await api("POST", `${base}/proxycache`, { body: body() });
    return verdict;
  });
  const remove = useMutation(() => api("DELETE", `${base}/proxycache`));

  if (current.error?.status === 404) return <EmptyState title="Proxy caching is turned off on this registry" />;
  if (current.error) return <ErrorBanner error={current.error} />;
  if (!current.data) return <Spinner label="Loading proxy-cache configuration" />;
  const config = current.data;

  if (config.upstream_registry) {
    return (
      <div className="org-more">
        <h2>Proxy cache</h2>
        <p>
          This organization is a pull-through cache: pulling <code>{orgname}/…</code> fetches the image from the
          upstream registry on first use and keeps it.
        </p>
        <dl className="facts">
          <dt>Upstream registry</dt>
          <dd>
            <code>{config.upstream_registry}</code>
          </dd>
          <dt>Expiration</dt>
          <dd>{config.expiration_s === "" ? "—" : `${describeSeconds(config.expiration_s)} after the last pull`}</dd>
          <dt>Insecure</dt>
          <dd>{config.insecure ? "Yes: plain HTTP or an unverified certificate" : "No"}</dd>
          <dt>Credentials</dt>
          <dd>Stored sealed when given; never shown.</dd>
        </dl>
        <button type="button" className="btn btn-danger" onClick={() => setConfirmDelete(true)}>
          Remove proxy cache configuration
        </button>
        <ConfirmDialog
          open={confirmDelete}
          title="Remove proxy cache configuration"
          message="The organization stops fetching from the upstream registry; what it cached stays."
          confirmLabel="Remove"
          busy={remove.busy}
          onConfirm={async () => {
            if ((await remove.run()) === undefined) return;
            setConfirmDelete(false);
            toast("Proxy cache configuration removed");
            current.reload();
          }}
          onClose={() => {
            setConfirmDelete(false);
            remove.clear();
          }}
        >
          <ErrorBanner error={remove.error} />
        </ConfirmDialog>
      </div>
    );
  }

  return (
    <div className="org-more">
      <h2>Proxy cache</h2>
      <p className="hint">
        Make this organization a pull-through cache of another registry, or of one namespace of it. The organization
        must not hold immutable tags.
      </p>
      <form
        className="card"
        onSubmit={async (event) => {
          event.preventDefault();
          const verdict = await save.run();
          if (verdict === undefined) return;
          toast(verdict === "Anonymous" ? "Proxy cache configured (anonymous access)" : "Proxy cache configured");
          setPassword("");
          current.reload();
        }}
      >
        <ErrorBanner error={save.error} />
        <TextField
          label="Remote registry"
          hint="A host, optionally with a port and a namespace: registry.example.com/library"
          required
          maxLength={1024}
          value={upstream}
          onChange={(e) => setUpstream(e.target.value)}
        />
        <TextField
          label="Remote registry username"
          autoComplete="off"
          maxLength={1024}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <TextField
          label="Remote registry password"
          type="password"
          autoComplete="new-password"
          hint="Stored sealed; never shown again."
          maxLength={4096}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <TextField
          label="Expiration (seconds)"
          hint="How long a cached tag lives after its last pull. Default: 86400 (a day)."
          type="number"
          min={0}
          step={1}
          required
          value={expiration}
          onChange={(e) => setExpiration(e.target.value)}
        />
        <CheckboxField
          label="Insecure: plain HTTP, or a certificate not verified"
          checked={insecure}
          onChange={(e) => setInsecure(e.target.checked)}
        />
        <button type="submit" className="btn btn-primary" disabled={save.busy || !upstream.trim()}>
          {save.busy ? "Validating…" : "Validate and save"}
        </button>
      </form>
    </div>
  );
}
