/**
 * `/repository/{namespace}/{name}/manifest/{digest}?tab=securityreport`: Quay's manifest page with
 * its security report (the vulnerabilities Clair found, worst first, filtered by severity: name,
 * package, version, fixed in, advisory links when they are http(s)) and its packages tab (every
 * package the scanner indexed, with how many vulnerabilities each has).
 */
import { useState } from "react";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { CheckboxField, SelectField, TextField } from "../../components/fields";
import { shortDigest } from "../../components/format";
import { PageHeader } from "../../components/Layout";
import { TabPanel, Tabs, useTab, type TabSpec } from "../../components/Tabs";
import {
  advisoryLinks,
  type Feature,
  findings,
  type SecurityInfo,
  SEVERITIES,
  securityPath,
  severityClass,
  severityCounts,
} from "./security";
import "./builds.css";

const TABS: TabSpec[] = [
  { id: "securityreport", label: "Security report" },
  { id: "packages", label: "Packages" },
];

const STATUS_TEXT: Record<string, string> = {
  queued: "This manifest is queued for a scan; its report appears here once the scanner has indexed it.",
  failed: "The scan of this manifest failed. It is tried again when the scanner next runs.",
  unsupported: "The scanner cannot index this manifest (a manifest list, or an unsupported image format).",
};

export default function ManifestPage({ repository, digest }: { repository: string; digest: string }) {
  const security = useApi<SecurityInfo>(securityPath(repository, digest), { vulnerabilities: true });
  const tab = useTab(TABS);
  const repoLink = `/repository/${repository.split("/").map(encodeURIComponent).join("/")}`;
  const namespace = repository.split("/")[0] ?? "";
  const crumbs = [
    { to: "/repository/", label: "Repositories" },
    { to: `/organization/${encodeURIComponent(namespace)}`, label: namespace },
    { to: repoLink, label: repository },
    { to: `${repoLink}?tab=tags`, label: "Tags" },
  ];
  const info = security.data;
  return (
    <>
      <PageHeader title={`Manifest ${shortDigest(digest)}`} crumbs={crumbs} />
      <p className="mono break">{digest}</p>
      <ErrorBanner error={security.error} />
      {!info && security.loading ? <Spinner label="Loading the security report" /> : null}
      {info && info.status !== "scanned" ? (
        <EmptyState title={`Security scan: ${info.status}`}>
          <p>{STATUS_TEXT[info.status] ?? "No report is available for this manifest."}</p>
        </EmptyState>
      ) : null}
      {info?.status === "scanned" ? (
        <>
          <Tabs tabs={TABS} label="Manifest" />
          <TabPanel id={tab}>{tab === "packages" ? <Packages info={info} /> : <Report info={info} />}</TabPanel>
        </>
      ) : null}
    </>
  );
}

function Report({ info }: { info: SecurityInfo }) {
  const [severity, setSeverity] = useState("");
  const [fixable, setFixable] = useState(false);
  const [search, setSearch] = useState("");
  const all = findings(info);
  const counts = severityCounts(info);
  const needle = search.trim().toLowerCase();
  const shown = all.filter(
    (f) =>
      (!severity || f.severity === severity) &&
      (!fixable || Boolean(f.vulnerability.FixedBy)) &&
      (!needle || f.vulnerability.Name.toLowerCase().includes(needle) || f.feature.Name.toLowerCase().includes(needle)),
  );
  if (all.length === 0) {
    return (
      <EmptyState title="Passed">
        <p>The scanner found no known vulnerability in this manifest’s packages.</p>
      </EmptyState>
    );
  }
  return (
    <div className="security-report">
      <p className="severity-summary">
        {all.length} {all.length === 1 ? "vulnerability" : "vulnerabilities"}:{" "}
        {counts.map(([s, n]) => (
          <span key={s} className={severityClass(s)}>
            {n} {s}
          </span>
        ))}
      </p>
      <div className="toolbar">
        <SelectField
          label="Severity"
          value={severity}
          options={[{ value: "", label: "All severities" }, ...SEVERITIES.map((s) => ({ value: s, label: s }))]}
          onChange={(e) => setSeverity(e.target.value)}
        />
        <TextField
          label="Filter vulnerabilities"
          type="search"
          value={search}
          placeholder="CVE or package"
          onChange={(e) => setSearch(e.target.value)}
        />
        <CheckboxField label="Only fixable" checked={fixable} onChange={(e) => setFixable(e.target.checked)} />
      </div>
      {shown.length === 0 ? <p className="hint">No vulnerability matches these filters.</p> : null}
      {shown.length ? (
        <div className="table-wrap">
          <table className="data vulnerabilities">
            <caption className="visually-hidden">Vulnerabilities</caption>
            <thead>
              <tr>
                <th scope="col">Advisory</th>
                <th scope="col">Severity</th>
                <th scope="col">Package</th>
                <th scope="col">Current version</th>
                <th scope="col">Fixed in version</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => {
                const links = advisoryLinks(f.vulnerability);
                return (
                  <tr key={`${f.vulnerability.Name}|${f.feature.Name}|${f.feature.Version ?? ""}`}>
                    <th scope="row">
                      {links[0] ? (
                        <a href={links[0]} rel="noreferrer noopener" target="_blank">
                          {f.vulnerability.Name}
                        </a>
                      ) : (
                        f.vulnerability.Name
                      )}
                      {f.vulnerability.Description ? (
                        <div className="hint vuln-description">{f.vulnerability.Description}</div>
                      ) : null}
                    </th>
                    <td>
                      <span className={severityClass(f.severity)}>{f.severity}</span>
                    </td>
                    <td>{f.feature.Name}</td>
                    <td className="mono">{f.feature.Version ?? "—"}</td>
                    <td className="mono">{f.vulnerability.FixedBy || <span className="hint">No fix yet</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function Packages({ info }: { info: SecurityInfo }) {
  const features: Feature[] = [...(info.data?.Layer?.Features ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  if (features.length === 0) return <EmptyState title="No packages found" />;
  return (
    <div className="table-wrap">
      <table className="data packages">
        <caption className="visually-hidden">Packages</caption>
        <thead>
          <tr>
            <th scope="col">Package</th>
            <th scope="col">Version</th>
            <th scope="col">Vulnerabilities</th>
            <th scope="col">Introduced in layer</th>
          </tr>
        </thead>
        <tbody>
          {features.map((f) => (
            <tr key={`${f.Name}|${f.Version ?? ""}|${f.AddedBy ?? ""}`}>
              <th scope="row">{f.Name}</th>
              <td className="mono">{f.Version ?? "—"}</td>
              <td>{f.Vulnerabilities?.length ? f.Vulnerabilities.length : <span className="hint">None</span>}</td>
              <td className="mono">{f.AddedBy ? shortDigest(f.AddedBy) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
