/**
 * The fields of an organization mirror (Quay's CreateOrgMirrorConfig): the source (a Quay or
 * Harbor registry and one of its namespaces), its credentials (write-only), the robot that owns
 * what is mirrored, the visibility of created repositories, the schedule and repository filters.
 */
import { useState } from "react";
import { useApi } from "../../api/hooks";
import { CheckboxField, SelectField, TextField } from "../../components/fields";

export interface OrgMirrorView {
  is_enabled: boolean;
  external_registry_type: "quay" | "harbor";
  external_registry_url: string;
  external_namespace: string;
  external_registry_username: string | null;
  has_external_registry_password: boolean;
  external_registry_config: { verify_tls?: boolean };
  repository_filters: string[];
  robot_username: string;
  visibility: "public" | "private";
  sync_interval: number;
  sync_start_date: string | null;
  sync_expiration_date: string | null;
  sync_status: string;
  skopeo_timeout: number;
}

/** Quay's date format for `sync_start_date`: ISO 8601 to the second, in UTC. */
const isoSecond = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

export default function OrgMirrorForm({
  orgname,
  initial,
  busy,
  onSubmit,
}: {
  orgname: string;
  initial?: OrgMirrorView;
  busy: boolean;
  onSubmit: (body: Record<string, unknown>) => void;
}) {
  const robots = useApi<{ robots: { name: string }[] }>(`/organization/${encodeURIComponent(orgname)}/robots`);
  const [type, setType] = useState(initial?.external_registry_type ?? "quay");
  const [url, setUrl] = useState(initial?.external_registry_url ?? "");
  const [namespace, setNamespace] = useState(initial?.external_namespace ?? "");
  const [username, setUsername] = useState(initial?.external_registry_username ?? "");
  const [password, setPassword] = useState("");
  const [robot, setRobot] = useState(initial?.robot_username ?? "");
  const [visibility, setVisibility] = useState(initial?.visibility ?? "private");
  const [interval, setSyncInterval] = useState(String(initial?.sync_interval ?? 86_400));
  const [filters, setFilters] = useState((initial?.repository_filters ?? []).join(", "));
  const [verifyTls, setVerifyTls] = useState(initial?.external_registry_config.verify_tls ?? true);
  const [enabled, setEnabled] = useState(initial?.is_enabled ?? true);
  const robotNames = robots.data?.robots.map((r) => r.name) ?? [];

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    onSubmit({
      is_enabled: enabled,
      external_registry_type: type,
      external_registry_url: url.trim(),
      external_namespace: namespace.trim(),
      robot_username: robot,
      visibility,
      sync_interval: Number(interval),
      ...(initial ? {} : { sync_start_date: isoSecond(new Date()) }),
      external_registry_username: username || null,
      // An empty password on an edit keeps the stored one.
      ...(password || !initial ? { external_registry_password: password || null } : {}),
      external_registry_config: { verify_tls: verifyTls },
      repository_filters: filters
        .split(",")
        .map((f) => f.trim())
        .filter(Boolean),
    });
  };
  return (
    <form onSubmit={submit} className="form-grid">
      <SelectField
        label="Source registry type"
        value={type}
        onChange={(e) => setType(e.target.value as OrgMirrorView["external_registry_type"])}
        options={[
          { value: "quay", label: "Quay" },
          { value: "harbor", label: "Harbor" },
        ]}
      />
      <TextField
        label="Source registry URL"
        type="url"
        required
        placeholder="https://registry.example.com"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
      />
      <TextField
        label="Source namespace"
        required
        maxLength={255}
        value={namespace}
        onChange={(e) => setNamespace(e.target.value)}
      />
      <TextField
        label="Source username"
        autoComplete="off"
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <TextField
        label="Source password"
        type="password"
        autoComplete="new-password"
        hint={
          initial?.has_external_registry_password ? "Stored; leave empty to keep it." : "Stored sealed; never shown."
        }
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <SelectField
        label="Robot account"
        required
        value={robot}
        onChange={(e) => setRobot(e.target.value)}
        options={[{ value: "", label: robotNames.length ? "Choose a robot" : "No robot: create one first" }].concat(
          robotNames.map((name) => ({ value: name, label: name })),
        )}
      />
      <SelectField
        label="Visibility of mirrored repositories"
        value={visibility}
        onChange={(e) => setVisibility(e.target.value as OrgMirrorView["visibility"])}
        options={[
          { value: "private", label: "Private" },
          { value: "public", label: "Public" },
        ]}
      />
      <TextField
        label="Sync interval (seconds)"
        type="number"
        min={60}
        required
        value={interval}
        onChange={(e) => setSyncInterval(e.target.value)}
      />
      <TextField
        label="Repository filters"
        hint="Comma-separated glob patterns (e.g. app-*, base); empty: every repository."
        value={filters}
        onChange={(e) => setFilters(e.target.value)}
      />
      <CheckboxField label="Verify TLS" checked={verifyTls} onChange={(e) => setVerifyTls(e.target.checked)} />
      <CheckboxField label="Mirroring enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
      <button type="submit" className="btn btn-primary" disabled={busy || !robot}>
        {initial ? "Save mirror settings" : "Start mirroring"}
      </button>
    </form>
  );
}
