/**
 * The quota's limits (Quay's "Warning" and "Reject" thresholds, a percentage of the quota): a
 * Warning notifies, a Reject refuses pushes past it. Superusers add, change and remove them.
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import type { QuotaLimit } from "./QuotaTab";

export function QuotaLimits({
  base,
  limits,
  editable,
  onChanged,
}: {
  /** `/organization/{org}/quota/{id}` */
  base: string;
  limits: QuotaLimit[];
  editable: boolean;
  onChanged: (message: string) => void;
}) {
  const [type, setType] = useState<QuotaLimit["type"]>("Warning");
  const [percent, setPercent] = useState("80");
  const add = useMutation(() => api("POST", `${base}/limit`, { body: { type, threshold_percent: Number(percent) } }));
  const remove = useMutation((id: number) => api("DELETE", `${base}/limit/${id}`));
  const change = useMutation((id: number, threshold: number) =>
    api("PUT", `${base}/limit/${id}`, { body: { threshold_percent: threshold } }),
  );
  const [editing, setEditing] = useState<{ id: number; percent: string } | null>(null);
  const sorted = [...limits].sort((a, b) => a.limit_percent - b.limit_percent);

  return (
    <section className="card" aria-labelledby="quota-limits-title">
      <h3 id="quota-limits-title">Quota limits</h3>
      <ErrorBanner error={add.error ?? remove.error ?? change.error} />
      {sorted.length === 0 ? <p className="hint">No limits: the quota alone is reported.</p> : null}
      {sorted.length > 0 ? (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col">Threshold</th>
                {editable ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {sorted.map((limit) => (
                <tr key={limit.id}>
                  <td>{limit.type === "Reject" ? "Reject pushes" : "Warning"}</td>
                  <td>
                    {editing?.id === limit.id ? (
                      <form
                        id={`limit-${limit.id}`}
                        onSubmit={async (event) => {
                          event.preventDefault();
                          if ((await change.run(limit.id, Number(editing.percent))) === undefined) return;
                          setEditing(null);
                          onChanged("Limit changed");
                        }}
                      >
                        <TextField
                          label={`New ${limit.type} threshold (%)`}
                          type="number"
                          min={1}
                          max={100}
                          required
                          value={editing.percent}
                          onChange={(e) => setEditing({ id: limit.id, percent: e.target.value })}
                        />
                      </form>
                    ) : (
                      `${limit.limit_percent}% of the quota`
                    )}
                  </td>
                  {editable ? (
                    <td className="actions">
                      {editing?.id === limit.id ? (
                        <>
                          <button
                            type="submit"
                            form={`limit-${limit.id}`}
                            className="btn btn-primary"
                            disabled={change.busy}
                          >
                            Save
                          </button>
                          <button type="button" className="btn" onClick={() => setEditing(null)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button
                          type="button"
                          className="btn"
                          aria-label={`Change the ${limit.type} limit at ${limit.limit_percent}%`}
                          onClick={() => setEditing({ id: limit.id, percent: String(limit.limit_percent) })}
                        >
                          Change
                        </button>
                      )}
                      <button
                        type="button"
                        className="btn"
                        disabled={remove.busy}
                        aria-label={`Remove the ${limit.type} limit at ${limit.limit_percent}%`}
                        onClick={async () => {
                          if ((await remove.run(limit.id)) !== undefined) onChanged("Limit removed");
                        }}
                      >
                        Remove
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {editable ? (
        <form
          className="limit-form"
          onSubmit={async (event) => {
            event.preventDefault();
            if ((await add.run()) !== undefined) onChanged("Limit added");
          }}
        >
          <div className="inline-fields">
            <SelectField
              label="Limit action"
              value={type}
              onChange={(e) => setType(e.target.value as QuotaLimit["type"])}
              options={[
                { value: "Warning", label: "Warning" },
                { value: "Reject", label: "Reject" },
              ]}
            />
            <TextField
              label="Threshold (%)"
              type="number"
              min={1}
              max={100}
              required
              value={percent}
              onChange={(e) => setPercent(e.target.value)}
            />
          </div>
          <button type="submit" className="btn" disabled={add.busy}>
            Add limit
          </button>
        </form>
      ) : null}
    </section>
  );
}
