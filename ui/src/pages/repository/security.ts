/**
 * Quay's security information (`GET …/manifest/{digest}/security?vulnerabilities=true`,
 * endpoints/api/secscan.py): `status` is `queued`, `scanned`, `failed` or `unsupported`; a scanned
 * manifest's `data.Layer.Features` are its packages, each with the vulnerabilities found in it.
 * The Tags tab asks for each manifest as its row comes into view, a few at a time, so a page of
 * fifty tags is not fifty requests at once.
 */
import { useEffect, useState } from "react";
import { api, repoPath } from "../../api/client";

export interface Vulnerability {
  Name: string;
  Severity?: string;
  NamespaceName?: string;
  Link?: string;
  FixedBy?: string;
  Description?: string;
  Metadata?: Record<string, unknown> | null;
}

export interface Feature {
  Name: string;
  Version?: string;
  VersionFormat?: string;
  NamespaceName?: string;
  AddedBy?: string;
  Vulnerabilities?: Vulnerability[];
}

export interface SecurityInfo {
  status: string;
  data?: { Layer?: { Name?: string; Features?: Feature[] | null } | null } | null;
}

/** Quay's severities, worst first (Clair's `Defcon1` above Critical). */
export const SEVERITIES = ["Defcon1", "Critical", "High", "Medium", "Low", "Negligible", "Unknown"] as const;

/** A severity as Quay names it; anything unknown is `Unknown`. */
export function severityOf(v: Vulnerability): string {
  const s = (v.Severity ?? "").toLowerCase();
  return SEVERITIES.find((name) => name.toLowerCase() === s) ?? "Unknown";
}

export const severityClass = (severity: string) => `badge sev sev-${severity.toLowerCase()}`;

/** One row per vulnerability and the package it is in. */
export interface Finding {
  vulnerability: Vulnerability;
  feature: Feature;
  severity: string;
}

export function findings(info: SecurityInfo | undefined): Finding[] {
  const rows: Finding[] = [];
  for (const feature of info?.data?.Layer?.Features ?? []) {
    for (const vulnerability of feature.Vulnerabilities ?? []) {
      rows.push({ vulnerability, feature, severity: severityOf(vulnerability) });
    }
  }
  const rank = (s: string) => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);
  return rows.sort(
    (a, b) => rank(a.severity) - rank(b.severity) || a.vulnerability.Name.localeCompare(b.vulnerability.Name),
  );
}

/** Counts by severity, worst first, only the severities found. */
export function severityCounts(info: SecurityInfo | undefined): [string, number][] {
  const counts = new Map<string, number>();
  for (const f of findings(info)) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  return SEVERITIES.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!]);
}

/** Every http(s) advisory link of a vulnerability (Clair puts several in `Link`, space-separated). */
export function advisoryLinks(v: Vulnerability): string[] {
  return (v.Link ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .filter((link) => {
      try {
        const url = new URL(link);
        return url.protocol === "https:" || url.protocol === "http:";
      } catch {
        return false;
      }
    });
}

const MAX_CONCURRENT = 3;
let active = 0;
const waiting: (() => void)[] = [];

/** Runs `task` when fewer than MAX_CONCURRENT security reads are in flight. */
async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (active >= MAX_CONCURRENT) await new Promise<void>((resume) => waiting.push(resume));
  active++;
  try {
    return await task();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

export const securityPath = (repository: string, digest: string) =>
  `${repoPath(repository)}/manifest/${encodeURIComponent(digest)}/security`;

export interface SecurityState {
  info?: SecurityInfo;
  /** The read failed (the API's message). */
  failure?: string;
}

/** Who shows each digest's status, to read it again when its scan ends (a `manifest_scanned` event). */
const watchers = new Map<string, Set<() => void>>();

/** The scan of `digest` ended: every status shown of it is read again. */
export function securityChanged(digest: string): void {
  for (const reread of watchers.get(digest) ?? []) reread();
}

/** The manifest's security information, read once `enabled` (its row is in view), and again when its scan ends. */
export function useSecurity(repository: string, digest: string, enabled: boolean): SecurityState {
  const [state, setState] = useState<SecurityState>({});
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const reread = () => setGeneration((n) => n + 1);
    const set = watchers.get(digest) ?? new Set<() => void>();
    watchers.set(digest, set);
    set.add(reread);
    return () => {
      set.delete(reread);
      if (set.size === 0) watchers.delete(digest);
    };
  }, [digest]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` re-reads after the digest's scan ended.
  useEffect(() => {
    if (!enabled) return;
    let gone = false;
    limited(() =>
      gone
        ? Promise.resolve(null)
        : api<SecurityInfo>("GET", securityPath(repository, digest), { query: { vulnerabilities: true } }),
    )
      .then((info) => {
        if (!gone && info) setState({ info });
      })
      .catch((err) => {
        if (!gone) setState({ failure: (err as Error).message });
      });
    return () => {
      gone = true;
    };
  }, [repository, digest, enabled, generation]);
  return state;
}
