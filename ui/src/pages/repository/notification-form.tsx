/**
 * The "Create notification" form of a repository's Settings, with Quay's events and methods
 * (Quay's `notifications/notificationevent.py` and `notificationmethod.py`; the Worker checks the
 * same lists in src/notifications/). Each method asks for its own config: a webhook's URL and
 * optional body template, a Slack URL, an e-mail address (authorized for the repository first, as
 * Quay asks), or the user or team an in-app notification goes to.
 */
import { useState } from "react";
import { api, ApiFailure, repoPath, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { type Entity, EntityPicker } from "../../components/EntityPicker";

/**
 * Quay's event kinds with its titles; Flowdock and HipChat, both shut down, are not offered as
 * methods.
 */
export const EVENTS = [
  { value: "repo_push", label: "Push to repository" },
  { value: "repo_image_expiry", label: "Image expiry trigger" },
  { value: "vulnerability_found", label: "Package vulnerability found" },
  { value: "build_queued", label: "Dockerfile build queued" },
  { value: "build_start", label: "Dockerfile build started" },
  { value: "build_success", label: "Dockerfile build successfully completed" },
  { value: "build_failure", label: "Dockerfile build failed" },
  { value: "build_cancelled", label: "Dockerfile build cancelled" },
  { value: "repo_mirror_sync_started", label: "Repository mirror started" },
  { value: "repo_mirror_sync_success", label: "Repository mirror success" },
  { value: "repo_mirror_sync_failed", label: "Repository mirror unsuccessful" },
];
export const METHODS = [
  { value: "quay_notification", label: "Registry notification (in the app)" },
  { value: "email", label: "E-mail" },
  { value: "slack", label: "Slack notification" },
  { value: "webhook", label: "Webhook POST" },
];
/** Quay's vulnerability priorities by index: notify at this priority or above. */
const LEVELS = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"].map((label, i) => ({
  value: String(i),
  label: `${label}${i < 5 ? " or higher" : " (any)"}`,
}));

export const labelOf = (list: { value: string; label: string }[], value: string) =>
  list.find((o) => o.value === value)?.label ?? value;

export function NotificationForm({
  repository,
  isOrganization,
  onCreated,
}: {
  repository: string;
  isOrganization: boolean;
  onCreated: () => void;
}) {
  const [event, setEvent] = useState("repo_push");
  const [method, setMethod] = useState("quay_notification");
  const [title, setTitle] = useState("");
  const [days, setDays] = useState("7");
  const [level, setLevel] = useState("1");
  const [refRegex, setRefRegex] = useState("");
  const isBuildEvent = event.startsWith("build_");
  const [url, setUrl] = useState("");
  const [template, setTemplate] = useState("");
  const [email, setEmail] = useState("");
  const [target, setTarget] = useState<Entity | null>(null);
  const [sent, setSent] = useState(false);
  const namespace = repository.split("/")[0] ?? "";

  const create = useMutation(async () => {
    const config: Record<string, unknown> =
      method === "webhook"
        ? { url, ...(template.trim() ? { template } : {}) }
        : method === "slack"
          ? { url }
          : method === "email"
            ? { email }
            : { target: target ? { kind: target.kind, name: target.name } : undefined };
    if (method === "quay_notification" && !target) throw new ApiFailure(400, "Pick who to notify.");
    const eventConfig: Record<string, unknown> =
      event === "repo_image_expiry"
        ? { days: Number(days) }
        : event === "vulnerability_found"
          ? { level: Number(level) }
          : isBuildEvent && refRegex.trim()
            ? { "ref-regex": refRegex.trim() }
            : {};
    return api("POST", `${repoPath(repository)}/notification/`, {
      body: { event, method, config, eventConfig, title: title.trim() || null },
    });
  });
  const authorize = useMutation(() =>
    api("POST", `${repoPath(repository)}/authorizedemail/${seg(email)}`, { body: {} }),
  );
  const unauthorized = method === "email" && /not authorized/i.test(create.error?.message ?? "");

  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        if ((await create.run()) === undefined) return;
        setTitle("");
        onCreated();
      }}
    >
      <div className="settings-row">
        <SelectField
          label="When this happens"
          value={event}
          options={EVENTS}
          onChange={(e) => setEvent(e.target.value)}
        />
        {event === "repo_image_expiry" ? (
          <TextField
            label="Days before the tag expires"
            type="number"
            min={1}
            max={3650}
            required
            value={days}
            onChange={(e) => setDays(e.target.value)}
          />
        ) : null}
        {event === "vulnerability_found" ? (
          <SelectField label="Priority" value={level} options={LEVELS} onChange={(e) => setLevel(e.target.value)} />
        ) : null}
        {isBuildEvent ? (
          // Quay's `ref-regex`: only builds of a git ref matching it (e.g. `heads/main`) notify.
          <TextField
            label="Matching refs (regular expression, optional)"
            value={refRegex}
            placeholder="heads/main"
            onChange={(e) => setRefRegex(e.target.value)}
          />
        ) : null}
        <SelectField label="Then issue" value={method} options={METHODS} onChange={(e) => setMethod(e.target.value)} />
      </div>
      {method === "quay_notification" ? (
        <EntityPicker
          label={isOrganization ? "Recipient (user, team or the organization's admins)" : "Recipient (user)"}
          namespace={namespace}
          // A robot has no inbox: the API refuses one as a recipient (src/notifications/methods.ts).
          kinds={isOrganization ? ["user", "team"] : ["user"]}
          includeOrgs={isOrganization}
          value={target}
          onPick={setTarget}
        />
      ) : null}
      {method === "email" ? (
        <TextField
          label="E-mail address"
          type="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      ) : null}
      {method === "slack" || method === "webhook" ? (
        <TextField
          label={method === "slack" ? "Slack webhook URL" : "Webhook URL"}
          type="url"
          required
          className="wide"
          placeholder="https://"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      ) : null}
      {method === "webhook" ? (
        <div className="field">
          <label htmlFor="webhook-template">POST body template (optional JSON, Quay's template syntax)</label>
          <textarea
            id="webhook-template"
            className="wide"
            rows={3}
            value={template}
            onChange={(e) => setTemplate(e.target.value)}
          />
        </div>
      ) : null}
      <TextField label="Title (optional)" value={title} maxLength={255} onChange={(e) => setTitle(e.target.value)} />
      <ErrorBanner error={create.error} />
      {unauthorized ? (
        <p>
          <button
            type="button"
            className="btn"
            disabled={authorize.busy}
            onClick={async () => setSent((await authorize.run()) !== undefined)}
          >
            Send an authorization e-mail to {email}
          </button>
          {sent ? (
            <span role="status"> Sent: confirm it from the mail, then create the notification again.</span>
          ) : null}
        </p>
      ) : null}
      <ErrorBanner error={authorize.error} />
      <button type="submit" className="btn btn-primary" disabled={create.busy}>
        Create notification
      </button>
    </form>
  );
}
