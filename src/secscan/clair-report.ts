/**
 * From Clair v4's VulnerabilityReport to what Quay's API shows (Quay `data/secscan_model/
 * secscan_v4_model.py` `features_for` and `datatypes.py` `SecurityInformation.to_dict`): one
 * `Layer` named by the manifest's digest (`IndexedByVersion` 4), one feature per package with the
 * layer that brought it (`AddedBy`, the package's first environment's `introduced_in`), and its
 * vulnerabilities, each once per package name, version and vulnerability name (Clair reports one
 * per matching updater). A severity is Clair's normalized one, else the CVSS v3 score of the
 * report's enrichment, else `Unknown` (Quay `util/secscan` `fetch_vuln_severity`).
 */
import { z } from "zod";

/** Quay's PRIORITY_LEVELS from most to least severe (their `index`). */
export const PRIORITIES = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** A report larger than this many packages or vulnerabilities is refused (a whole distribution has about 5,000 packages). */
const MAX_ENTRIES = 50_000;

const text = (max: number) => z.string().max(max);
const record = <T extends z.ZodType>(value: T) =>
  z.record(z.string().max(256), value).refine((r) => Object.keys(r).length <= MAX_ENTRIES, "too many entries");

const clairVulnerability = z.object({
  id: text(256),
  updater: text(1024).default(""),
  name: text(1024).default(""),
  description: text(65_536).default(""),
  links: text(16_384).default(""),
  severity: text(256).default(""),
  normalized_severity: text(64).default(""),
  fixed_in_version: text(1024).default(""),
  repository: z.object({ name: text(1024).optional(), uri: text(2048).optional() }).nullish(),
  distribution: z.object({ name: text(1024).optional(), version: text(1024).optional() }).nullish(),
  package: z.object({ name: text(1024).optional() }).nullish(),
});

export type ClairVulnerability = z.infer<typeof clairVulnerability>;

const cvss = z.object({ vectorString: text(1024).optional(), baseScore: z.number().min(0).max(10).optional() });

/** The parts of Clair's VulnerabilityReport Wharf reads (others pass unread). */
export const vulnerabilityReportSchema = z.object({
  manifest_hash: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  packages: record(z.object({ id: text(256).optional(), name: text(1024), version: text(1024).default("") })),
  environments: record(z.array(z.object({ introduced_in: text(256).nullish() }).nullable()).max(1000)).default({}),
  package_vulnerabilities: record(z.array(text(256)).max(10_000)).default({}),
  vulnerabilities: record(clairVulnerability).default({}),
  enrichments: z.record(z.string().max(1024), z.array(z.record(z.string().max(256), z.array(cvss).max(100)))).nullish(),
});

export type VulnerabilityReport = z.infer<typeof vulnerabilityReportSchema>;

export interface QuayVulnerability {
  Severity: Priority;
  NamespaceName: string;
  Link: string;
  FixedBy: string;
  Description: string;
  Name: string;
  Metadata: {
    UpdatedBy: string;
    RepoName: string | null;
    RepoLink: string | null;
    DistroName: string | null;
    DistroVersion: string | null;
    NVD: { CVSSv3: { Vectors: string; Score: number | "" } };
  };
}

export interface QuayFeature {
  Name: string;
  VersionFormat: string;
  NamespaceName: string;
  AddedBy: string;
  Version: string;
  BaseScores: number[];
  CVEIds: string[];
  Vulnerabilities: QuayVulnerability[];
}

/** Quay's `SecurityInformation` as its API answers it (`data`). */
export interface SecurityInformation {
  Layer: { Name: string; ParentName: string; NamespaceName: string; IndexedByVersion: number; Features: QuayFeature[] };
}

/** Quay's `get_priority_from_cvssscore`. */
function priorityOfScore(score: number): Priority {
  if (score > 0 && score < 4) return "Low";
  if (score >= 4 && score < 7) return "Medium";
  if (score >= 7 && score < 9) return "High";
  if (score >= 9 && score < 10) return "Critical";
  return "Unknown";
}

function priorityOf(vuln: ClairVulnerability, score: number | undefined): Priority {
  const normalized = PRIORITIES.find((p) => p === vuln.normalized_severity);
  if (normalized && normalized !== "Unknown") return normalized;
  return score ? priorityOfScore(score) : "Unknown";
}

/** Quay's `maybe_urlencoded`: Clair's `fixed_in_version` may be a query string with `fixed=`. */
export function fixedVersion(fixedIn: string): string {
  if (fixedIn === "0") return "";
  if (!fixedIn.includes("=")) return fixedIn;
  return new URLSearchParams(fixedIn).get("fixed") || fixedIn;
}

/** Quay's `link_to_cves`: the CVE ids named in a links string, sorted, once each. */
function cvesOf(links: string): string[] {
  return [...new Set(links.match(/CVE-\d{4}-\d{4,7}/g) ?? [])].sort();
}

/** The highest-scored CVSS v3 of each vulnerability, from the report's first enrichment (as Quay reads it). */
function enrichmentsOf(report: VulnerabilityReport): Map<string, z.infer<typeof cvss>> {
  const byVulnerability = new Map<string, z.infer<typeof cvss>>();
  const first = Object.values(report.enrichments ?? {})[0]?.[0] ?? {};
  for (const [id, scores] of Object.entries(first)) {
    const best = [...scores].sort((a, b) => (b.baseScore ?? 0) - (a.baseScore ?? 0))[0];
    if (best) byVulnerability.set(id, best);
  }
  return byVulnerability;
}

function quayVulnerability(vuln: ClairVulnerability, enrichment: z.infer<typeof cvss> | undefined): QuayVulnerability {
  return {
    Severity: priorityOf(vuln, enrichment?.baseScore),
    NamespaceName: vuln.updater,
    Link: vuln.links,
    FixedBy: fixedVersion(vuln.fixed_in_version),
    Description: vuln.description,
    Name: vuln.name,
    Metadata: {
      UpdatedBy: vuln.updater,
      RepoName: vuln.repository?.name ?? null,
      RepoLink: vuln.repository?.uri ?? null,
      DistroName: vuln.distribution?.name ?? null,
      DistroVersion: vuln.distribution?.version ?? null,
      NVD: { CVSSv3: { Vectors: enrichment?.vectorString ?? "", Score: enrichment?.baseScore ?? "" } },
    },
  };
}

/** Quay's `features_for` and `to_dict`: the report as the security API's `data`. */
export function securityInformation(report: VulnerabilityReport): SecurityInformation {
  const enrichments = enrichmentsOf(report);
  const seen = new Set<string>();
  const features: QuayFeature[] = [];
  // In Clair's order: Go writes a map's keys sorted as strings ("10" before "9"), where a
  // JavaScript object would put integer-like keys in numeric order.
  for (const packageId of Object.keys(report.packages).sort()) {
    const pkg = report.packages[packageId]!;
    const vulnerabilities: QuayVulnerability[] = [];
    for (const vulnId of report.package_vulnerabilities[packageId] ?? []) {
      const vuln = report.vulnerabilities[vulnId];
      if (!vuln) continue;
      const key = `${pkg.name}_${pkg.version}_${vuln.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      vulnerabilities.push(quayVulnerability(vuln, enrichments.get(vuln.id)));
    }
    features.push({
      Name: pkg.name,
      VersionFormat: "",
      NamespaceName: "",
      AddedBy: report.environments[packageId]?.[0]?.introduced_in ?? "",
      Version: pkg.version,
      BaseScores: vulnerabilities.flatMap((v) => (v.Metadata.NVD.CVSSv3.Score ? [v.Metadata.NVD.CVSSv3.Score] : [])),
      CVEIds: [...new Set(vulnerabilities.flatMap((v) => cvesOf(v.Link)))].sort(),
      Vulnerabilities: vulnerabilities,
    });
  }
  return {
    Layer: { Name: report.manifest_hash, ParentName: "", NamespaceName: "", IndexedByVersion: 4, Features: features },
  };
}

/** The security API without vulnerabilities (`vulnerabilities=false`): the features alone. */
export function withoutVulnerabilities(info: SecurityInformation): SecurityInformation {
  const Features = info.Layer.Features.map((f) => ({ ...f, BaseScores: [], CVEIds: [], Vulnerabilities: [] }));
  return { Layer: { ...info.Layer, Features } };
}

/** `manifest_scans.summary`: counts for lists (the UI's "45 medium"). */
export interface ScanSummary {
  features: number;
  vulnerabilities: Record<Priority, number>;
  fixable: number;
}

export function scanSummary(info: SecurityInformation): ScanSummary {
  const vulnerabilities = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
  let fixable = 0;
  for (const feature of info.Layer.Features) {
    for (const v of feature.Vulnerabilities) {
      vulnerabilities[v.Severity] += 1;
      if (v.FixedBy !== "") fixable += 1;
    }
  }
  return { features: info.Layer.Features.length, vulnerabilities, fixable };
}

/** A vulnerability as `vulnerability_found` carries it (src/events/build-catalogue.ts). */
export interface FoundVulnerability {
  id: string;
  description: string;
  link: string;
  priority: Priority;
  has_fix: boolean;
  package: string;
}

/** Most severe first; at most `limit`. */
export function mostSevere(found: FoundVulnerability[], limit = 50): FoundVulnerability[] {
  const rank = (v: FoundVulnerability) => PRIORITIES.indexOf(v.priority);
  return [...found].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id)).slice(0, limit);
}

/**
 * What a first scan notifies (Quay's FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX): the
 * vulnerabilities at least as severe as NOTIFICATION_MIN_SEVERITY_ON_NEW_INDEX's default, High.
 */
export function newIndexVulnerabilities(info: SecurityInformation): FoundVulnerability[] {
  const found: FoundVulnerability[] = [];
  for (const feature of info.Layer.Features) {
    for (const v of feature.Vulnerabilities) {
      if (v.Severity !== "Critical" && v.Severity !== "High") continue;
      found.push(foundOf(v.Name, v.Description, v.Link, v.Severity, v.FixedBy !== "", feature.Name));
    }
  }
  return mostSevere(found);
}

/** The vulnerability of a Clair notification (its VulnSummary: no id, no updater). */
export const vulnerabilitySummarySchema = z.object({
  name: text(1024),
  description: text(65_536).default(""),
  links: text(16_384).default(""),
  normalized_severity: text(64).default(""),
  fixed_in_version: text(1024).default(""),
  package: z.object({ name: text(1024).optional() }).nullish(),
});

/** A vulnerability of Clair's notification as Quay reads it (`process_notification_page`). */
export function notifiedVulnerability(vuln: z.infer<typeof vulnerabilitySummarySchema>): FoundVulnerability {
  const priority = PRIORITIES.find((p) => p === vuln.normalized_severity) ?? "Unknown";
  const fixed = fixedVersion(vuln.fixed_in_version) !== "";
  return foundOf(vuln.name, vuln.description, vuln.links, priority, fixed, vuln.package?.name ?? "");
}

function foundOf(
  id: string,
  description: string,
  link: string,
  priority: Priority,
  hasFix: boolean,
  pkg: string,
): FoundVulnerability {
  const cut = (s: string) => (s.length > 2048 ? `${s.slice(0, 2047)}…` : s);
  return { id: cut(id), description: cut(description), link: cut(link), priority, has_fix: hasFix, package: cut(pkg) };
}
