/**
 * Issue #18's acceptance, scans: `npm start` with FEATURE_SECURITY_SCANNER and
 * SECURITY_SCANNER_V4_PSK, and the real connector (`npm run connector -- --clair … --clair-psk …`)
 * against the Clair API double (helpers/clair-double.ts: a TEST DOUBLE serving Clair v4's
 * documented JSON, since Clair cannot run on this machine; the request code is the connector's).
 * A pushed image is scanned: the double fetched every layer from the edge's signed URLs, the
 * security endpoint answers `scanned` with the double's vulnerability in Quay's shape, and a
 * `vulnerability_found` webhook arrives. Then Clair's notifier calls `POST /secscan/notification`
 * (signed as it signs), the connector pages through the double's notification: a second
 * `vulnerability_found`, and the notification deleted at the double.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { ClairDouble, sampleVulnerabilityReport } from "./helpers/clair-double";
import { registryHost } from "./helpers/clients";
import type { ConnectorProcess } from "./helpers/connector-process";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { createConnector, startConnector, subscribe, until, WebhookReceiver } from "./helpers/origin-connector";
import { type RunningServer, startWharf } from "./helpers/server";

const runId = randomBytes(3).toString("hex");
const namespace = `scanned${runId}`;
const repository = `${namespace}/app`;
let server: RunningServer;
let receiver: WebhookReceiver;
let clair: ClairDouble;
let connector: ConnectorProcess | undefined;
let tmp: string;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(server.url, server.adminToken, method, pathname, body);

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  clair = await ClairDouble.start();
  server = await startWharf({
    env: {
      ALLOW_PRIVATE_OUTBOUND: receiver.hostPort,
      FEATURE_SECURITY_SCANNER: "true",
      SECURITY_SCANNER_V4_PSK: clair.psk,
    },
  });
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-origin-scans-"));
  await api("POST", "/organization/", { name: namespace, email: `${namespace}@example.com` });
  await api("POST", "/repository", { namespace, repository: "app", visibility: "private", description: "" });
}, 180_000);

afterAll(async () => {
  await connector?.kill();
  await clair?.stop();
  await receiver?.stop();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("scans through the origin connector and the Clair double", () => {
  it("scans a pushed manifest, answers its security in Quay's shape, and notifies; then Clair's notification notifies again", async () => {
    await subscribe(server.url, server.adminToken, repository, receiver, ["vulnerability_found"]);
    const owner = await server.credentialsFor("admin");
    const digest = await pushOneLayerImage(server.url, registryHost(server.url), owner, repository, "v1");
    // The connector starts once the double knows the report: the queued scan waits for it.
    clair.setVulnerabilityReport(digest, sampleVulnerabilityReport(digest));
    const made = await createConnector(server.url, server.adminToken, `scanner-${runId}`, ["scan"]);
    connector = startConnector(server.url, made.token, path.join(tmp, "work"), [
      "--builder",
      "none",
      "--clair",
      clair.url,
      "--clair-psk",
      clair.psk,
    ]);

    let security: any;
    await until(
      async () => {
        security = await api("GET", `/repository/${repository}/manifest/${digest}/security?vulnerabilities=true`);
        return security.status === "scanned";
      },
      `the scan (last ${JSON.stringify(security)})\n${connector.output().slice(-3000)}`,
      90_000,
    );
    // Every layer (the manifest has one) was fetched from a signed URL on the edge, whole.
    const manifest = await fetchManifest(digest);
    expect(clair.fetched.map((f) => [f.digest, f.status, f.matches])).toEqual(
      manifest.layers.map((l: { digest: string }) => [l.digest, 200, true]),
    );
    for (const f of clair.fetched) expect(f.uri.startsWith(`${server.url}/connector/v1/layers/`)).toBe(true);
    expect(clair.requests.every((r) => r.authorized)).toBe(true);

    expect(security).toMatchObject({
      status: "scanned",
      data: {
        Layer: {
          Name: digest,
          Features: [
            expect.objectContaining({
              Name: "musl",
              Version: "1.2.2-r0",
              Vulnerabilities: [
                expect.objectContaining({
                  Name: "CVE-2021-99999",
                  Severity: "High",
                  FixedBy: "1.2.2-r1",
                  Link: "https://example.com/CVE-2021-99999",
                  Description: "A test vulnerability served by the Clair double.",
                }),
              ],
            }),
          ],
        },
      },
    });

    const host = registryHost(server.url);
    const [found] = await receiver.waitFor("/vulnerability_found", 1, 60_000);
    const place = {
      repository,
      namespace,
      name: "app",
      docker_url: `${host}/${repository}`,
      homepage: `${server.url}/repository/${repository}`,
    };
    expect(found!.body).toMatchObject({
      ...place,
      tags: ["v1"],
      vulnerability: { id: "CVE-2021-99999", priority: "High", has_fix: true },
    });

    // Clair's notifier: a new vulnerability for the manifest, served in two pages.
    const notificationId = randomBytes(8).toString("hex");
    const vulnerability = (name: string, severity: string) => ({
      name,
      fixed_in_version: "",
      links: `https://example.com/${name}`,
      description: `${name}, announced by the Clair double`,
      normalized_severity: severity,
      package: { id: "1", name: "musl", version: "1.2.2-r0", kind: "binary" },
      distribution: { id: "1", did: "alpine" },
      repository: null,
    });
    clair.addNotification(notificationId, [
      [{ id: "1", manifest: digest, reason: "added", vulnerability: vulnerability("CVE-2026-00001", "Critical") }],
      [{ id: "2", manifest: digest, reason: "removed", vulnerability: vulnerability("CVE-2021-99999", "High") }],
    ]);
    const unsigned = await fetch(`${server.url}/secscan/notification`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ notification_id: notificationId, callback: "x" }),
    });
    expect(unsigned.status).toBe(401);
    expect(await clair.deliverWebhook(`${server.url}/secscan/notification`, notificationId)).toBe(200);

    const deliveries = await receiver.waitFor("/vulnerability_found", 2, 90_000);
    expect(deliveries[1]!.body).toMatchObject({
      ...place,
      tags: ["v1"],
      vulnerability: {
        id: "CVE-2026-00001",
        priority: "Critical",
        link: "https://example.com/CVE-2026-00001",
        has_fix: false,
      },
    });
    await until(async () => clair.deletedNotifications.includes(notificationId), "the notification's deletion", 30_000);
    const pages = clair.requests.filter(
      (r) => r.method === "GET" && r.path === `/notifier/api/v1/notification/${notificationId}`,
    );
    expect(pages).toHaveLength(2);
    // The removed vulnerability notifies nobody; no third delivery follows the rescan either.
    await until(async () => (await jobs("scan")).every((j: any) => j.state === "done"), "the rescan", 60_000);
    expect(receiver.to("/vulnerability_found")).toHaveLength(2);
    expect(await jobs("scan_notification")).toMatchObject([{ state: "done", subject: notificationId }]);
  }, 240_000);
});

async function jobs(kind: string): Promise<any[]> {
  return (await api("GET", `/superuser/connectors/jobs?kind=${kind}`)).jobs;
}

async function fetchManifest(digest: string): Promise<any> {
  const admin = await server.credentialsFor("admin");
  const scope = encodeURIComponent(`repository:${repository}:pull`);
  const auth = await fetch(`${server.url}/v2/auth?service=${registryHost(server.url)}&scope=${scope}`, {
    headers: { Authorization: `Basic ${btoa(`${admin.username}:${admin.password}`)}` },
  });
  const { token } = (await auth.json()) as { token: string };
  const res = await fetch(`${server.url}/v2/${repository}/manifests/${digest}`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json", Authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}
