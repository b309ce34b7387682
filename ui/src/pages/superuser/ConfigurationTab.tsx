/**
 * The superuser's Configuration tab: the configuration the Worker runs with
 * (`GET /api/v1/superuser/config`: each key of its [vars] with its value, null when the default
 * applies, and for each secret only whether it is set: the API never sends a secret's value), and a
 * check of a proposed configuration (`POST /api/v1/superuser/config/validate`) listing each key's
 * error. A Worker's configuration changes only with a deploy, so nothing here writes (Quay's
 * config editor saves config.yaml; Wharf's deploy does that part).
 */
import { useId, useState } from "react";
import { api } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { parseConfigText } from "./config-text";

interface EffectiveConfig {
  config: Record<string, unknown>;
  secrets: Record<string, boolean>;
}

interface Validation {
  status: boolean;
  reason: string;
  errors: { key: string; message: string }[];
}

/** A value as the [vars] hold it; objects (OIDC_PROVIDERS) as JSON. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export default function ConfigurationTab() {
  const effective = useApi<EffectiveConfig>("/superuser/config");
  const [filter, setFilter] = useState("");
  const wanted = filter.trim().toUpperCase();
  const entries = Object.entries(effective.data?.config ?? {}).filter(([key]) => key.includes(wanted));
  const secrets = Object.entries(effective.data?.secrets ?? {});

  return (
    <>
      <section className="card" aria-labelledby="su-config-title">
        <h2 id="su-config-title">Effective configuration</h2>
        <p className="hint">
          What this deployment runs with: wrangler.toml's <code>[vars]</code> and its secrets. A change takes a deploy (
          <code>npm run deploy</code>); a key shown as default is unset and its default applies.
        </p>
        <ErrorBanner error={effective.error} />
        {!effective.data && effective.loading ? <Spinner label="Loading the configuration" /> : null}
        {effective.data ? (
          <>
            <h3 id="su-secrets-title">Secrets</h3>
            <ul className="su-checks" aria-labelledby="su-secrets-title">
              {secrets.map(([key, set]) => (
                <li key={key} data-secret={key}>
                  <code className="su-check-name">{key}</code>
                  <span className={set ? "badge badge-public" : "badge"}>{set ? "set" : "not set"}</span>
                </li>
              ))}
            </ul>
            <div className="toolbar">
              <TextField
                label="Filter keys"
                type="search"
                placeholder="e.g. FAIR_USE"
                value={filter}
                onChange={(e) => setFilter(e.target.value)}
              />
            </div>
            <div className="table-wrap su-table-wrap">
              {/* Fixed columns whose text wraps: a phone shows every key and value without scrolling sideways. */}
              <table className="data su-config-table">
                <caption className="visually-hidden">Configuration keys and values</caption>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map(([key, value]) => (
                    <tr key={key} data-config-key={key}>
                      <th scope="row" className="su-config-value mono">
                        {key}
                      </th>
                      <td className="su-config-value mono">
                        {value === null || value === "" ? <span className="hint">default</span> : shown(value)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {entries.length === 0 ? <p className="hint">No key matches “{filter}”.</p> : null}
          </>
        ) : null}
      </section>
      <ConfigCheck />
    </>
  );
}

/** The server's message names the key first (src/config.ts describeIssue); the list shows it apart. */
const withoutKey = ({ key, message }: { key: string; message: string }) =>
  message.startsWith(`${key}: `) ? message.slice(key.length + 2) : message;

/** The "Check a configuration" box: paste, validate on the server, list what is wrong per key. */
function ConfigCheck() {
  const inputId = useId();
  const hintId = useId();
  const [text, setText] = useState("");
  const [parseError, setParseError] = useState<string | null>(null);
  const [result, setResult] = useState<Validation | null>(null);
  const validate = useMutation((config: Record<string, unknown>) =>
    api<Validation>("POST", "/superuser/config/validate", { body: { config } }),
  );

  const onCheck = async () => {
    setResult(null);
    const parsed = parseConfigText(text);
    if ("error" in parsed) {
      setParseError(parsed.error);
      return;
    }
    setParseError(null);
    const answer = await validate.run(parsed.config);
    if (answer) setResult(answer);
  };

  return (
    <section className="card" aria-labelledby="su-config-check-title">
      <h2 id="su-config-check-title">Check a configuration</h2>
      <form
        className="su-config-form"
        onSubmit={(event) => {
          event.preventDefault();
          void onCheck();
        }}
      >
        <div className="field">
          <label htmlFor={inputId}>Configuration to check</label>
          <textarea
            id={inputId}
            aria-describedby={hintId}
            rows={8}
            spellCheck={false}
            className="mono"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={'FEATURE_BUILD_SUPPORT: true\nTAG_EXPIRATION_OPTIONS: ["1d", "2w"]'}
          />
          <small id={hintId} className="hint">
            A JSON object, or one <code>KEY: value</code> (YAML) or <code>KEY = value</code> ([vars]) per line. Nothing
            is applied; secrets belong in <code>wrangler secret put</code>, not here.
          </small>
        </div>
        <button type="submit" className="btn btn-primary" disabled={validate.busy}>
          {validate.busy ? "Checking…" : "Check configuration"}
        </button>
      </form>
      {parseError ? (
        <p className="banner banner-error" role="alert">
          {parseError}
        </p>
      ) : null}
      <ErrorBanner error={validate.error} />
      <div aria-live="polite">
        {result?.status ? (
          <p className="banner banner-info" data-config-valid="">
            This configuration is valid.
          </p>
        ) : null}
        {result && !result.status ? (
          <>
            <p>
              {result.errors.length === 1 ? "1 problem" : `${result.errors.length} problems`} in this configuration:
            </p>
            <ul className="su-config-errors">
              {result.errors.map((error, index) => (
                // The same key can fail twice (two problems); the index keeps the keys unique.
                // biome-ignore lint/suspicious/noArrayIndexKey: the list is replaced whole on each check.
                <li key={`${error.key}-${index}`} data-config-error={error.key}>
                  <code>{error.key}</code>: {withoutKey(error)}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </section>
  );
}
