/**
 * One auto-prune policy's fields, as Quay's API takes them: `method`, `value` (a number of tags, or
 * a span such as `2w` built here from a number and a unit), and an optional `tagPattern` with
 * `tagPatternMatches` (prune the tags that match, or those that do not).
 */
import { useState } from "react";
import { SelectField, TextField } from "../../components/fields";

export interface PolicyBody {
  method: "number_of_tags" | "creation_date";
  value: number | string;
  tagPattern: string | null;
  tagPatternMatches: boolean;
}

/** Quay's span units (`s`, `m`, `h`, `d`, `w`), the ones a person uses offered first. */
const UNITS = [
  { value: "d", label: "days" },
  { value: "w", label: "weeks" },
  { value: "h", label: "hours" },
  { value: "m", label: "minutes" },
  { value: "s", label: "seconds" },
];

/** `2w` → ["2", "w"]; anything else as a number of days. */
function splitSpan(value: number | string | undefined): [string, string] {
  const match = /^\s*(\d+)\s*([smhdw])\s*$/.exec(String(value ?? ""));
  return match ? [match[1]!, match[2]!] : ["", "d"];
}

export default function AutoPruneForm({
  initial,
  busy,
  onSubmit,
}: {
  initial?: PolicyBody;
  busy: boolean;
  onSubmit: (body: PolicyBody) => void;
}) {
  const [method, setMethod] = useState<PolicyBody["method"]>(initial?.method ?? "number_of_tags");
  const [count, setCount] = useState(initial?.method === "number_of_tags" ? String(initial.value) : "");
  const [span, setSpan] = useState(splitSpan(initial?.method === "creation_date" ? initial.value : undefined));
  const [pattern, setPattern] = useState(initial?.tagPattern ?? "");
  const [matches, setMatches] = useState(initial?.tagPatternMatches ?? true);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    onSubmit({
      method,
      value: method === "number_of_tags" ? Number(count) : `${span[0]}${span[1]}`,
      tagPattern: pattern.trim() ? pattern.trim() : null,
      tagPatternMatches: matches,
    });
  };
  return (
    <form onSubmit={submit} className="form-grid">
      <SelectField
        label="Prune policy"
        value={method}
        onChange={(e) => setMethod(e.target.value as PolicyBody["method"])}
        options={[
          { value: "number_of_tags", label: "By number of tags" },
          { value: "creation_date", label: "By age of tags" },
        ]}
      />
      {method === "number_of_tags" ? (
        <TextField
          label="Number of tags to keep"
          type="number"
          min={1}
          step={1}
          required
          value={count}
          onChange={(e) => setCount(e.target.value)}
        />
      ) : (
        <div className="inline-fields">
          <TextField
            label="Prune tags older than"
            type="number"
            min={1}
            step={1}
            required
            value={span[0]}
            onChange={(e) => setSpan([e.target.value, span[1]])}
          />
          <SelectField
            label="Unit"
            value={span[1]}
            onChange={(e) => setSpan([span[0], e.target.value])}
            options={UNITS}
          />
        </div>
      )}
      <div className="inline-fields">
        <TextField
          label="Tag pattern (optional)"
          hint="A regular expression, e.g. ^v[0-9]+; empty: every tag."
          maxLength={256}
          value={pattern}
          onChange={(e) => setPattern(e.target.value)}
        />
        <SelectField
          label="Tags to prune"
          value={matches ? "match" : "exclude"}
          disabled={!pattern.trim()}
          onChange={(e) => setMatches(e.target.value === "match")}
          options={[
            { value: "match", label: "Those matching the pattern" },
            { value: "exclude", label: "Those not matching the pattern" },
          ]}
        />
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        Save policy
      </button>
    </form>
  );
}
