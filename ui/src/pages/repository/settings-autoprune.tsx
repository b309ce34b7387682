/**
 * The repository's own auto-prune policies (`…/autoprunepolicy/`, Quay's "Repository auto-pruning
 * policies"): keep the newest N tags (`number_of_tags`) or end tags older than a span
 * (`creation_date`, e.g. `2w`), optionally only tags that match, or do not match, a pattern. The
 * namespace's policies apply as well; they are managed on the organization's or user's page.
 */
import { useId, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { CheckboxField, SelectField, TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import type { RepositoryTabProps } from "./types";

interface Policy {
  uuid: string;
  method: "number_of_tags" | "creation_date";
  value: number | string;
  tagPattern: string | null;
  tagPatternMatches: boolean;
}

const METHODS = [
  { value: "number_of_tags", label: "Keep the newest tags (by number)" },
  { value: "creation_date", label: "Prune tags older than (by age)" },
];

/** A span in Quay's words: `2w` is two weeks. */
const UNITS: Record<string, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week", y: "year" };
function spanWords(value: string): string {
  const match = /^(\d+)\s*([smhdwy])$/.exec(value.trim());
  if (!match) return value;
  const n = Number(match[1]);
  return `${n} ${UNITS[match[2]!]}${n === 1 ? "" : "s"}`;
}

export function describePolicy(p: Policy): string {
  const rule =
    p.method === "number_of_tags"
      ? `Keep the newest ${p.value} tags`
      : `Prune tags older than ${spanWords(String(p.value))}`;
  if (!p.tagPattern) return rule;
  return `${rule}, only tags that ${p.tagPatternMatches ? "match" : "do not match"} ${p.tagPattern}`;
}

export function AutoPruneSection({ repository }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const base = `${repoPath(repository)}/autoprunepolicy/`;
  const list = useApi<{ policies: Policy[] }>(base);
  const [method, setMethod] = useState<Policy["method"]>("number_of_tags");
  const [value, setValue] = useState("");
  const [pattern, setPattern] = useState("");
  const [matches, setMatches] = useState(true);
  const [deleting, setDeleting] = useState<Policy | null>(null);
  /** The policy being edited (a PUT replaces it whole, as Quay's), or null for a new one. */
  const [editing, setEditing] = useState<Policy | null>(null);
  const edit = (p: Policy | null) => {
    setEditing(p);
    setMethod(p?.method ?? "number_of_tags");
    setValue(p ? String(p.value) : "");
    setPattern(p?.tagPattern ?? "");
    setMatches(p?.tagPatternMatches ?? true);
  };
  const create = useMutation(() =>
    api(editing ? "PUT" : "POST", editing ? `${base}${seg(editing.uuid)}` : base, {
      body: {
        method,
        value: method === "number_of_tags" ? Number(value) : value.trim(),
        tagPattern: pattern.trim() || null,
        tagPatternMatches: matches,
      },
    }),
  );
  const remove = useMutation((p: Policy) => api("DELETE", `${base}${seg(p.uuid)}`));
  const policies = list.data?.policies ?? [];

  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id}>Repository auto-prune policies</h2>
      <p className="hint">
        These run in addition to the namespace's policies (set on the organization's or user's page).
      </p>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? <Spinner label="Loading policies" /> : null}
      {list.data && policies.length === 0 ? <EmptyState title="No auto-prune policy on this repository" /> : null}
      {policies.length ? (
        <ul className="policy-list">
          {policies.map((p) => (
            <li key={p.uuid}>
              {describePolicy(p)}{" "}
              <button
                type="button"
                className="btn-plain"
                aria-label={`Edit policy: ${describePolicy(p)}`}
                onClick={() => edit(p)}
              >
                Edit
              </button>
              <button
                type="button"
                className="btn-plain"
                aria-label={`Delete policy: ${describePolicy(p)}`}
                onClick={() => {
                  remove.clear();
                  setDeleting(p);
                }}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if ((await create.run()) === undefined) return;
          toast(editing ? "Auto-prune policy saved" : "Auto-prune policy added");
          edit(null);
          list.reload();
        }}
      >
        <div className="settings-row">
          <SelectField
            label="Prune method"
            value={method}
            options={METHODS}
            onChange={(e) => setMethod(e.target.value as Policy["method"])}
          />
          {method === "number_of_tags" ? (
            <TextField
              label="Tags to keep"
              type="number"
              min={1}
              required
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          ) : (
            <TextField
              label="Age (e.g. 30d, 2w, 1y)"
              required
              pattern="\s*\d+\s*[smhdwy]\s*"
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          )}
          <TextField
            label="Tag pattern (optional regex)"
            value={pattern}
            onChange={(e) => setPattern(e.target.value)}
          />
        </div>
        {pattern.trim() ? (
          <CheckboxField
            label="Prune the tags that match the pattern (unticked: those that do not)"
            checked={matches}
            onChange={(e) => setMatches(e.target.checked)}
          />
        ) : null}
        <ErrorBanner error={create.error} />
        <button type="submit" className="btn btn-primary" disabled={create.busy}>
          {editing ? "Save policy" : "Add policy"}
        </button>
        {editing ? (
          <button type="button" className="btn" onClick={() => edit(null)}>
            Cancel editing
          </button>
        ) : null}
      </form>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete auto-prune policy"
        busy={remove.busy}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting || (await remove.run(deleting)) === undefined) return;
          setDeleting(null);
          toast("Auto-prune policy deleted");
          list.reload();
        }}
        message={deleting ? `Delete the policy “${describePolicy(deleting)}”?` : ""}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
