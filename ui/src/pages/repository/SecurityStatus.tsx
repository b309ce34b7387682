/**
 * A manifest's security status as the Tags tab shows it (Quay's security column): read when it
 * comes into view; "Queued", "Scan failed" or "Unsupported" until there is a report; a scanned
 * manifest's counts by severity in colour, or "Passed" when nothing was found, each linking to the
 * security report.
 */
import { useEffect, useRef, useState } from "react";
import { Link } from "../../router";
import { securityReportHref } from "./build-types";
import { severityClass, severityCounts, useSecurity } from "./security";
import "./builds.css";

/** True once the element has been in (or near) the viewport. */
function useSeen<T extends Element>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return;
    if (typeof IntersectionObserver === "undefined") {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setSeen(true);
          observer.disconnect();
        }
      },
      { rootMargin: "200px" },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  return [ref, seen];
}

const STATUS_LABELS: Record<string, string> = {
  queued: "Queued",
  failed: "Scan failed",
  unsupported: "Unsupported",
};

export function SecurityStatus({ repository, digest }: { repository: string; digest: string }) {
  const [ref, seen] = useSeen<HTMLSpanElement>();
  const { info, failure } = useSecurity(repository, digest, seen);
  const href = securityReportHref(repository, digest);
  let body: React.ReactNode;
  if (failure) {
    body = (
      <span className="badge" title={failure}>
        Unavailable
      </span>
    );
  } else if (!info) {
    body = <span className="hint">Checking…</span>;
  } else if (info.status !== "scanned") {
    body = (
      <span className={info.status === "failed" ? "badge badge-warning" : "badge"} data-security={info.status}>
        {STATUS_LABELS[info.status] ?? info.status}
      </span>
    );
  } else {
    const counts = severityCounts(info);
    body = (
      <Link to={href} className="security-link" data-security="scanned">
        <span className="visually-hidden">Security report: </span>
        {counts.length === 0 ? (
          <span className="badge sev sev-passed">Passed</span>
        ) : (
          counts.map(([severity, n]) => (
            <span key={severity} className={severityClass(severity)}>
              {n} {severity}
            </span>
          ))
        )}
      </Link>
    );
  }
  return (
    <span ref={ref} className="security-status">
      {body}
    </span>
  );
}
