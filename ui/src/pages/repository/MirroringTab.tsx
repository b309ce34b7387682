/**
 * The Mirroring tab (a repository in state MIRROR), as Quay's: the mirror's configuration
 * (`GET|POST|PUT …/mirror`: source repository, tag patterns, first sync and interval, the robot
 * that writes, the source's credentials, TLS verification, enabled), its last sync's status, and
 * "Sync now" / "Cancel sync" (`POST …/mirror/sync-now`, `…/sync-cancel`). The source password is
 * write-only: the API never answers it, so an empty field keeps the stored one.
 */
import { useEffect, useId, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CheckboxField, SelectField, TextField } from "../../components/fields";
import { formatDate } from "../../components/format";
import type { RepositoryTabProps } from "./types";
import "./repository-more.css";

interface MirrorConfig {
  is_enabled: boolean;
  external_reference: string;
  external_registry_username: string | null;
  external_registry_config: { verify_tls?: boolean; unsigned_images?: boolean };
  sync_interval: number;
  sync_start_date: string | null;
  sync_expiration_date: string | null;
  sync_retries_remaining: number;
  sync_status: string;
  root_rule: { rule_kind: string; rule_value: string[] };
  robot_username: string | null;
}

const UNITS = [
  { value: "60", label: "minutes" },
  { value: "3600", label: "hours" },
  { value: "86400", label: "days" },
  { value: "604800", label: "weeks" },
];

/** Quay's statuses in words. */
const STATUS: Record<string, string> = {
  NEVER_RUN: "Never run",
  SYNC_NOW: "Sync requested",
  SYNCING: "Syncing",
  SUCCESS: "Last sync succeeded",
  FAIL: "Last sync failed",
  CANCEL: "Cancelled",
};

/** `<input type="datetime-local">` value (UTC) ↔ Quay's `%Y-%m-%dT%H:%M:%SZ`. */
const toLocalInput = (quay: string | null) => (quay ? quay.slice(0, 16) : new Date().toISOString().slice(0, 16));
const toQuayDate = (input: string) => `${input.slice(0, 16)}:00Z`;

function splitInterval(seconds: number): { count: string; unit: string } {
  for (const unit of [...UNITS].reverse()) {
    const size = Number(unit.value);
    if (seconds >= size && seconds % size === 0) return { count: String(seconds / size), unit: unit.value };
  }
  return { count: String(Math.max(1, Math.round(seconds / 60))), unit: "60" };
}

export default function MirroringTab({ repo, repository }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const base = `${repoPath(repository)}/mirror`;
  const namespace = repository.split("/")[0] ?? "";
  const mirror = useApi<MirrorConfig>(base);
  const robots = useApi<{ robots: { name: string }[] }>(
    repo.is_organization === false ? "/user/robots" : `/organization/${seg(namespace)}/robots`,
    { token: false },
  );
  const exists = mirror.data !== undefined;
  const missing = mirror.error?.status === 404;

  const [enabled, setEnabled] = useState(true);
  const [reference, setReference] = useState("");
  const [tags, setTags] = useState("latest");
  const [start, setStart] = useState(toLocalInput(null));
  const [count, setCount] = useState("1");
  const [unit, setUnit] = useState("86400");
  const [robot, setRobot] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [verifyTls, setVerifyTls] = useState(true);

  useEffect(() => {
    const m = mirror.data;
    if (!m) return;
    setEnabled(m.is_enabled);
    setReference(m.external_reference);
    setTags(m.root_rule.rule_value.join(", "));
    setStart(toLocalInput(m.sync_start_date));
    const interval = splitInterval(m.sync_interval);
    setCount(interval.count);
    setUnit(interval.unit);
    setRobot(m.robot_username ?? "");
    setUsername(m.external_registry_username ?? "");
    setVerifyTls(m.external_registry_config?.verify_tls ?? true);
  }, [mirror.data]);

  const save = useMutation(() => {
    const body: Record<string, unknown> = {
      is_enabled: enabled,
      external_reference: reference.trim(),
      root_rule: {
        rule_kind: "tag_glob_csv",
        rule_value: tags
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
      },
      sync_start_date: toQuayDate(start),
      sync_interval: Number(count) * Number(unit),
      robot_username: robot,
      external_registry_username: username.trim() || null,
      external_registry_config: { verify_tls: verifyTls },
    };
    // Write-only: sent when typed (or to clear it along with the username).
    if (password) body.external_registry_password = password;
    else if (!username.trim()) body.external_registry_password = null;
    return api(exists ? "PUT" : "POST", base, { body });
  });
  const sync = useMutation((action: "sync-now" | "sync-cancel") => api("POST", `${base}/${action}`));

  if (mirror.loading && !mirror.data) return <Spinner label="Loading the mirror configuration" />;
  const status = mirror.data?.sync_status;
  const robotOptions = [
    { value: "", label: "Choose a robot" },
    ...(robots.data?.robots ?? []).map((r) => ({ value: r.name, label: r.name })),
  ];
  if (robot && !robotOptions.some((o) => o.value === robot)) robotOptions.push({ value: robot, label: robot });

  return (
    <section aria-label="Mirroring" className="repository-mirroring">
      {missing ? null : <ErrorBanner error={mirror.error} />}
      {mirror.data ? (
        <section className="card settings-section" aria-labelledby={`${id}-status`}>
          <h2 id={`${id}-status`}>Status</h2>
          <dl className="mirror-status">
            <dt>State</dt>
            <dd>
              <span className={status === "FAIL" ? "badge badge-warning" : "badge"}>
                {STATUS[status ?? ""] ?? status}
              </span>
              {mirror.data.is_enabled ? "" : " (scheduled syncs are disabled)"}
            </dd>
            <dt>Next sync</dt>
            <dd>{formatDate(mirror.data.sync_start_date)}</dd>
            <dt>Sync running until</dt>
            <dd>{formatDate(mirror.data.sync_expiration_date)}</dd>
            <dt>Retries remaining</dt>
            <dd>{mirror.data.sync_retries_remaining}</dd>
          </dl>
          <ErrorBanner error={sync.error} />
          <div className="settings-row">
            <button
              type="button"
              className="btn btn-primary"
              disabled={sync.busy || status === "SYNCING" || status === "SYNC_NOW"}
              onClick={async () => {
                if ((await sync.run("sync-now")) === undefined) return;
                toast("Sync requested");
                mirror.reload();
              }}
            >
              Sync now
            </button>
            <button
              type="button"
              className="btn"
              disabled={sync.busy || (status !== "SYNCING" && status !== "SYNC_NOW")}
              onClick={async () => {
                if ((await sync.run("sync-cancel")) === undefined) return;
                toast("Sync cancelled");
                mirror.reload();
              }}
            >
              Cancel sync
            </button>
            <button type="button" className="btn-plain" onClick={mirror.reload}>
              Refresh status
            </button>
          </div>
        </section>
      ) : null}
      <section className="card settings-section" aria-labelledby={`${id}-config`}>
        <h2 id={`${id}-config`}>{exists ? "Configuration" : "Set up mirroring"}</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if ((await save.run()) === undefined) return;
            setPassword("");
            toast(exists ? "Mirror configuration saved" : "Mirroring set up");
            mirror.reload();
          }}
        >
          <CheckboxField
            label="Enabled (sync on the schedule)"
            checked={enabled}
            onChange={(e) => setEnabled(e.target.checked)}
          />
          <TextField
            label="Registry location"
            hint="The source repository, e.g. quay.io/namespace/name"
            required
            className="wide"
            value={reference}
            onChange={(e) => setReference(e.target.value)}
          />
          <TextField
            label="Tags"
            hint="Comma-separated tag names or patterns, e.g. latest, v1.*"
            required
            value={tags}
            onChange={(e) => setTags(e.target.value)}
          />
          <div className="settings-row">
            <TextField
              label="Start date (UTC)"
              type="datetime-local"
              required
              value={start}
              onChange={(e) => setStart(e.target.value)}
            />
            <TextField
              label="Sync every"
              type="number"
              min={1}
              required
              value={count}
              onChange={(e) => setCount(e.target.value)}
            />
            <SelectField label="Interval unit" value={unit} options={UNITS} onChange={(e) => setUnit(e.target.value)} />
          </div>
          <SelectField
            label="Robot user"
            required
            value={robot}
            options={robotOptions}
            onChange={(e) => setRobot(e.target.value)}
          />
          <ErrorBanner error={robots.error} title="Robots" />
          <div className="settings-row">
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
              placeholder={exists && username ? "unchanged" : ""}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          <CheckboxField label="Verify TLS" checked={verifyTls} onChange={(e) => setVerifyTls(e.target.checked)} />
          <ErrorBanner error={save.error} />
          <button type="submit" className="btn btn-primary" disabled={save.busy}>
            {exists ? "Save configuration" : "Enable mirroring"}
          </button>
        </form>
      </section>
    </section>
  );
}
