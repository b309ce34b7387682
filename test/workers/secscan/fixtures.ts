/**
 * Fixtures of the security-scanning tests: the Worker with FEATURE_SECURITY_SCANNER on (and Clair's
 * PSK), pushes through it, the scan jobs and the handlers' context, and a Clair v4
 * VulnerabilityReport written from Clair's documented schema (its OpenAPI `VulnerabilityReport`:
 * packages, distributions, environments, vulnerabilities, package_vulnerabilities, enrichments).
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { createApp } from "../../../src/app";
import type { JobContext } from "../../../src/connector/job-kinds";
import { connectorJobs, manifestScans } from "../../../src/db/schema";
import type { RegistryEvent } from "../../../src/events/catalogue";
import { systemOrigin } from "../../../src/events/envelope";
import { db } from "../helpers/accounts";
import {
  BASE,
  bytesOf,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  pushBlob,
  registryToken,
  sha256,
} from "../helpers/registry";

/** Clair's PSK as an operator generates it: 32 random bytes in base64. */
export const PSK = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

/** The Worker's environment with the scanner on. */
export const scannerEnv = (vars: Record<string, string | undefined> = {}) =>
  ({ ...env, FEATURE_SECURITY_SCANNER: "true", SECURITY_SCANNER_V4_PSK: PSK, ...vars }) as unknown as Env;

/** A request through the whole app with `targetEnv`, its background work awaited. */
export async function fetchWith(targetEnv: Env, method: string, path: string, init: RequestInit = {}) {
  const waiting: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void waiting.push(p),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
  const res = await createApp().fetch(new Request(`${BASE}${path}`, { method, ...init }), targetEnv, ctx);
  await Promise.allSettled(waiting);
  return res;
}

/** PUTs a manifest to `repository` as `user` through the Worker with `targetEnv`; its digest. */
export async function putManifest(
  targetEnv: Env,
  user: string,
  repository: string,
  reference: string,
  body: string,
  mediaType: string,
) {
  const token = await registryToken([{ type: "repository", name: repository, actions: ["pull", "push"] }], user);
  const res = await fetchWith(targetEnv, "PUT", `/v2/${repository}/manifests/${reference}`, {
    body,
    headers: { "Content-Type": mediaType, Authorization: `Bearer ${token}` },
  });
  if (res.status !== 201) throw new Error(`PUT ${repository}:${reference}: ${res.status} ${await res.text()}`);
  return res.headers.get("Docker-Content-Digest")!;
}

export interface Image {
  digest: string;
  layers: string[];
  manifest: string;
}

/** Pushes an image of `layers` fresh layers (blobs as the owner, the manifest through `targetEnv`). */
export async function pushImage(
  targetEnv: Env,
  user: string,
  repository: string,
  tag: string,
  options: { layers?: number; configMediaType?: string } = {},
): Promise<Image> {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() });
  await pushBlob(repository, config);
  const layers: string[] = [];
  const descriptors = [];
  for (let i = 0; i < (options.layers ?? 2); i++) {
    const layer = `layer ${i} ${crypto.randomUUID()}`;
    layers.push(await pushBlob(repository, layer));
    descriptors.push({ mediaType: OCI_LAYER, digest: await sha256(layer), size: bytesOf(layer).byteLength });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: options.configMediaType ?? OCI_CONFIG,
      digest: await sha256(config),
      size: bytesOf(config).byteLength,
    },
    layers: descriptors,
  });
  return { digest: await putManifest(targetEnv, user, repository, tag, manifest, OCI_MANIFEST), layers, manifest };
}

/** Pushes an index over `child` (already in the repository). */
export async function pushIndex(targetEnv: Env, user: string, repository: string, tag: string, child: Image) {
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: child.digest,
        size: bytesOf(child.manifest).byteLength,
        platform: { architecture: "amd64", os: "linux" },
      },
    ],
  });
  return putManifest(targetEnv, user, repository, tag, index, OCI_INDEX);
}

export const scanRow = (digest: string) =>
  db().select().from(manifestScans).where(eq(manifestScans.digest, digest)).get();

export const openJobs = (kind: "scan" | "scan_notification", subject: string) =>
  db()
    .select()
    .from(connectorJobs)
    .where(and(eq(connectorJobs.kind, kind), eq(connectorJobs.subject, subject)))
    .all();

/** A handler's context, with the events it publishes collected. */
export function jobContext(targetEnv: Env = scannerEnv()): JobContext & { published: RegistryEvent[] } {
  const published: RegistryEvent[] = [];
  return {
    env: targetEnv,
    origin: BASE,
    scope: { origin: systemOrigin("scanner"), publish: (events) => void published.push(...events) },
    published,
  };
}

const CVSS_KIND =
  "message/vnd.clair.map.vulnerability; enricher=clair.cvss schema=https://csrc.nist.gov/schema/nvd/feed/1.1/cvss-v3.x.json";

/**
 * Clair's VulnerabilityReport of an Alpine image whose first layer brings openssl (package "10"),
 * zlib ("11") and busybox ("9", last in Clair's order): openssl has CVE-2021-3711 (Critical,
 * reported by two updaters: shown once) and CVE-2021-3712 (no normalized severity, High from its
 * CVSS enrichment, `fixed_in_version` "0": no fix), zlib CVE-2018-25032 (High, fixed in a
 * URL-encoded version), busybox none.
 */
export function clairReport(manifest: string, layer: string) {
  const alpine = {
    id: "1",
    did: "alpine",
    name: "Alpine Linux",
    version: "3.14",
    version_id: "3.14",
    arch: "",
    cpe: "",
    pretty_name: "Alpine Linux v3.14",
  };
  const environment = () => [
    { package_db: "lib/apk/db/installed", introduced_in: layer, distribution_id: "1", repository_ids: [] },
  ];
  const vulnerability = (id: string, name: string, extra: Record<string, unknown>) => ({
    id,
    updater: "alpine-main-v3.14-updater",
    name,
    description: `${name} description`,
    issued: "2021-08-24T15:15:00Z",
    links: `https://nvd.nist.gov/vuln/detail/${name}`,
    severity: "",
    normalized_severity: "",
    package: { id: "", name: "", version: "", kind: "binary" },
    distribution: { id: "", did: "alpine", name: "Alpine Linux", version: "3.14" },
    repository: { id: "", name: "", uri: "" },
    fixed_in_version: "",
    arch_op: "",
    ...extra,
  });
  return {
    manifest_hash: manifest,
    packages: {
      "10": {
        id: "10",
        name: "openssl",
        version: "1.1.1k-r0",
        kind: "binary",
        source: { id: "9", name: "openssl", version: "1.1.1k-r0", kind: "source" },
        arch: "x86_64",
      },
      "11": { id: "11", name: "zlib", version: "1.2.11-r3", kind: "binary", arch: "x86_64" },
      "9": { id: "9", name: "busybox", version: "1.33.1-r3", kind: "binary", arch: "x86_64" },
    },
    distributions: { "1": alpine },
    repository: {},
    environments: { "10": environment(), "11": environment(), "9": environment() },
    package_vulnerabilities: { "10": ["100", "101", "102"], "11": ["103"] },
    vulnerabilities: {
      "100": vulnerability("100", "CVE-2021-3711", {
        severity: "Critical",
        normalized_severity: "Critical",
        fixed_in_version: "1.1.1l-r0",
        package: { id: "", name: "openssl", version: "", kind: "binary" },
      }),
      "101": vulnerability("101", "CVE-2021-3711", {
        updater: "osv/alpine",
        severity: "CRITICAL",
        normalized_severity: "Critical",
        fixed_in_version: "1.1.1l-r0",
      }),
      "102": vulnerability("102", "CVE-2021-3712", { fixed_in_version: "0" }),
      "103": vulnerability("103", "CVE-2018-25032", {
        severity: "High",
        normalized_severity: "High",
        fixed_in_version: "fixed=1.2.12-r0&introduced=0",
      }),
    },
    enrichments: {
      [CVSS_KIND]: [
        {
          "100": [
            {
              version: "3.1",
              vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
              baseScore: 9.8,
              baseSeverity: "CRITICAL",
            },
          ],
          "102": [
            {
              version: "3.1",
              vectorString: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:L",
              baseScore: 5.9,
              baseSeverity: "MEDIUM",
            },
            {
              version: "3.1",
              vectorString: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
              baseScore: 7.4,
              baseSeverity: "HIGH",
            },
          ],
        },
      ],
    },
  };
}
