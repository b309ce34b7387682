/**
 * The organization's consumption against its quota, as a bar with its limits marked: a person
 * would rather look than compute "3.2 GiB of 10 GiB".
 */
import { formatBytes } from "../../components/format";
import type { QuotaView } from "./QuotaTab";

export function QuotaUsage({ used, quota }: { used: number | null; quota: QuotaView | null }) {
  if (used === null) {
    return <p className="hint">The organization's usage is shown to its members.</p>;
  }
  if (!quota || quota.limit_bytes <= 0) {
    return (
      <p>
        Using <strong>{formatBytes(used)}</strong>; no quota limits it.
      </p>
    );
  }
  const ratio = used / quota.limit_bytes;
  const percent = Math.round(ratio * 1000) / 10;
  const reached = [...quota.limits].filter((l) => percent >= l.limit_percent).map((l) => l.type);
  const level = reached.includes("Reject") ? "quota-reject" : reached.includes("Warning") ? "quota-warning" : "";
  const summary = `${formatBytes(used)} of ${formatBytes(quota.limit_bytes)} used (${percent}%)`;
  return (
    <figure className="quota-usage">
      <figcaption>{summary}</figcaption>
      {/* The meter is what assistive technology reads; the drawn bar, with the limits marked, is for the eye. */}
      <meter className="visually-hidden" aria-label="Quota consumed" min={0} max={quota.limit_bytes} value={used}>
        {summary}
      </meter>
      <div className="quota-bar" aria-hidden="true">
        <div className={`quota-bar-fill ${level}`} style={{ width: `${Math.min(100, ratio * 100)}%` }} />
        {quota.limits.map((l) => (
          <span
            key={l.id}
            className="quota-bar-mark"
            style={{ left: `${Math.min(100, l.limit_percent)}%` }}
            title={`${l.type} at ${l.limit_percent}%`}
          />
        ))}
      </div>
      {reached.length > 0 ? (
        <p className="badge badge-warning">
          {reached.includes("Reject") ? "Reject limit reached: pushes are refused" : "Warning limit reached"}
        </p>
      ) : null}
    </figure>
  );
}
