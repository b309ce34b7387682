/**
 * The connector's side of `/connector/v1` (docs/connector.md) as the UI's browser tests play it:
 * a superuser makes a connector, the test leases the job it waits for and reports on it (logs,
 * phase, result) so a build or a scan reaches the screens without buildah or Clair. The real
 * connector is `connector/`; this is only its calls, made by hand.
 */
import { expect } from "vitest";
import { apiCall } from "./api-calls";

export interface LeasedJob {
  uuid: string;
  kind: string;
  lease_token: string;
  build?: { uuid: string; repository: string; docker_tags: string[] };
  scan?: { manifest: string; repository: string };
  [field: string]: unknown;
}

export async function connectorSession(base: string, adminToken: string, name: string, kinds: string[]) {
  const made = (await apiCall(base, adminToken, "POST", "/superuser/connectors", { name, kinds })) as {
    token: string;
  };
  expect(made.token).toMatch(/^wharfc_/);
  const call = async (method: string, path: string, body?: unknown, lease?: string) => {
    const res = await fetch(`${base}/connector/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${made.token}`,
        "Content-Type": "application/json",
        ...(lease ? { "X-Wharf-Lease": lease } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const hello = await call("POST", "/hello", { version: "ui-test", hostname: "e2e-ui", builder: null, scanner: true });
  expect(hello.status).toBe(200);

  return {
    token: made.token,
    /**
     * Leases until the job `wanted` picks (others of the same kind, queued by other test files, are
     * left to their lease's expiry); waits up to `timeoutMs` for it to be queued.
     */
    async leaseWhere(kind: string, wanted: (job: LeasedJob) => boolean, timeoutMs = 30_000): Promise<LeasedJob> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const res = await call("POST", "/lease", { kinds: [kind] });
        if (res.status === 200 && res.body?.job && wanted(res.body.job)) return res.body.job as LeasedJob;
        if (res.status !== 200 && res.status !== 204)
          throw new Error(`lease: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 204) await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`no ${kind} job to lease within ${timeoutMs} ms`);
    },
    async heartbeat(job: LeasedJob, body: { phase?: string; logs?: { message: string; type?: string }[] }) {
      const res = await call("POST", `/jobs/${job.uuid}/heartbeat`, body, job.lease_token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    },
    async complete(job: LeasedJob, result: unknown) {
      const res = await call("POST", `/jobs/${job.uuid}/complete`, result, job.lease_token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    },
    async fail(job: LeasedJob, error: string) {
      const res = await call("POST", `/jobs/${job.uuid}/fail`, { error, retry: false }, job.lease_token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    },
  };
}

/** Clair v4's VulnerabilityReport for `manifest`: openssl with a critical and a high, busybox with a medium, musl clean. */
export function clairReport(manifest: string, layer: string) {
  const env = () => [{ package_db: "lib/apk/db/installed", introduced_in: layer, distribution_id: "1" }];
  const vuln = (id: string, name: string, severity: string, pkg: string, fixed: string, links: string) => ({
    id,
    updater: "alpine-main-v3.18-updater",
    name,
    description: `${name} in ${pkg}`,
    issued: "2024-01-01T00:00:00Z",
    links,
    severity,
    normalized_severity: severity,
    package: { id: "", name: pkg, version: "", kind: "binary" },
    distribution: { id: "", did: "alpine", name: "Alpine Linux", version_id: "3.18" },
    repository: {},
    fixed_in_version: fixed,
  });
  return {
    manifest_hash: manifest,
    packages: {
      "1": { id: "1", name: "openssl", version: "3.1.0-r1", kind: "binary" },
      "2": { id: "2", name: "busybox", version: "1.36.1-r0", kind: "binary" },
      "3": { id: "3", name: "musl", version: "1.2.4-r0", kind: "binary" },
    },
    distributions: {
      "1": { id: "1", did: "alpine", name: "Alpine Linux", version_id: "3.18", pretty_name: "Alpine Linux v3.18" },
    },
    repository: {},
    environments: { "1": env(), "2": env(), "3": env() },
    vulnerabilities: {
      "11": vuln("11", "CVE-2024-0001", "Critical", "openssl", "3.1.4-r0", "https://security.example/CVE-2024-0001"),
      "12": vuln("12", "CVE-2024-0002", "High", "openssl", "", "javascript:alert(1)"),
      "13": vuln("13", "CVE-2024-0003", "Medium", "busybox", "1.36.1-r2", "https://security.example/CVE-2024-0003"),
    },
    package_vulnerabilities: { "1": ["11", "12"], "2": ["13"] },
    enrichments: {},
  };
}
