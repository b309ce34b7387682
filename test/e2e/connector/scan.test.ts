/**
 * The connector's Clair v4 client against the Clair API double (helpers/clair-double.ts: a test
 * double, Clair cannot run on this machine): a scan job's layers reach Clair as the edge's signed
 * URLs and are really fetched, every request carries the PSK JWT, and the job completes with the
 * vulnerability report and the indexer's state; a manifest Clair refuses is `unsupported`; a
 * wrong PSK fails the job with retry; a notification is paged through, reported, then deleted at
 * Clair only after the edge accepted it.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ClairDouble, sampleVulnerabilityReport } from "../helpers/clair-double";
import { ConnectorProcess } from "../helpers/connector-process";
import { FakeEdge } from "../helpers/fake-edge";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function setUp(psk?: string) {
  const edge = await FakeEdge.start();
  const clair = await ClairDouble.start();
  cleanups.push(
    () => edge.stop(),
    () => clair.stop(),
  );
  const connector = ConnectorProcess.start(["--edge", edge.url, "--builder", "none", "--clair", clair.url], {
    WHARF_CONNECTOR_TOKEN: edge.token,
    CLAIR_PSK: psk ?? clair.psk,
  });
  cleanups.push(() => connector.kill());
  return { edge, clair, connector };
}

const digest = () => `sha256:${randomBytes(32).toString("hex")}`;

describe("scans through Clair v4", () => {
  it("indexes a manifest from the edge's layer URLs and completes with Clair's report and indexer state", async () => {
    const { edge, clair, connector } = await setUp();
    const layers = [edge.serveLayer(randomBytes(4096)), edge.serveLayer(randomBytes(10_000))];
    const manifest = digest();
    clair.setVulnerabilityReport(manifest, sampleVulnerabilityReport(manifest));
    const job = edge.queue("scan", { manifest, repository: "ns/app", layers });
    const unsupportedManifest = digest();
    clair.unsupported.add(unsupportedManifest);
    const refused = edge.queue("scan", { manifest: unsupportedManifest, repository: "ns/app", layers: [layers[0]] });
    await edge.waitFor(() => Boolean(refused.completed || refused.failed), "both scans to end", 60_000);
    expect(job.failed, connector.output()).toBeUndefined();

    expect(job.completed).toEqual({
      status: "scanned",
      indexer_state: clair.indexState,
      report: sampleVulnerabilityReport(manifest),
    });
    // Clair fetched each layer from the edge's signed URL, and got the right bytes.
    expect(clair.fetched.slice(0, 2).map((f) => [f.uri, f.matches])).toEqual(layers.map((l) => [l.uri, true]));
    expect(clair.requests.every((r) => r.authorized)).toBe(true);
    const paths = clair.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "POST /indexer/api/v1/index_report",
        `GET /indexer/api/v1/index_report/${manifest}`,
        "GET /indexer/api/v1/index_state",
        `GET /matcher/api/v1/vulnerability_report/${manifest}`,
      ]),
    );
    // Scan heartbeats only renew the lease: no phase, no logs (the edge refuses progress for scans).
    for (const c of edge.callsTo("/heartbeat")) expect(c.body).toEqual({});

    expect(refused.completed.status).toBe("unsupported");
    expect(refused.completed.reason).toMatch(/400: manifest media type unsupported/);
  });

  it("fails the scan with retry when Clair refuses its JWT (a wrong PSK)", async () => {
    const { edge, clair, connector } = await setUp(randomBytes(32).toString("base64"));
    const job = edge.queue("scan", {
      manifest: digest(),
      repository: "ns/app",
      layers: [edge.serveLayer(randomBytes(64))],
    });
    await edge.waitFor(() => Boolean(job.completed || job.failed), "the scan to end", 30_000);
    expect(job.completed, connector.output()).toBeUndefined();
    expect(job.failed?.retry).toBe(true);
    expect(job.failed?.error).toMatch(/401/);
    expect(clair.requests.every((r) => !r.authorized)).toBe(true);
    expect(clair.fetched).toEqual([]);
  });

  it("pages through a notification, reports it, and deletes it at Clair once the edge accepted it", async () => {
    const { edge, clair, connector } = await setUp();
    const manifest = digest();
    const vulnerability = (name: string) => ({
      name,
      fixed_in_version: "1.2.2-r1",
      links: "",
      description: "",
      normalized_severity: "High",
      package: { id: "1", name: "musl", version: "1.2.2-r0", kind: "binary" },
      distribution: { id: "1", did: "alpine" },
      repository: null,
    });
    clair.addNotification("n-1", [
      [{ id: "a", manifest, reason: "added", vulnerability: vulnerability("CVE-1") }],
      [
        { id: "b", manifest, reason: "removed", vulnerability: vulnerability("CVE-2") },
        { id: "c", manifest, reason: "added", vulnerability: vulnerability("CVE-3") },
      ],
    ]);
    const job = edge.queue("scan_notification", { notification_id: "n-1" });
    await edge.waitFor(() => clair.deletedNotifications.length > 0, "the notification's deletion", 30_000);
    expect(job.failed, connector.output()).toBeUndefined();
    expect(job.completed.notifications.map((n: any) => [n.manifest, n.reason, n.vulnerability.name])).toEqual([
      [manifest, "added", "CVE-1"],
      [manifest, "added", "CVE-3"],
      [manifest, "removed", "CVE-2"],
    ]);
    const getPages = clair.requests.filter((r) => r.method === "GET" && r.path === "/notifier/api/v1/notification/n-1");
    expect(getPages).toHaveLength(2);
    expect(clair.deletedNotifications).toEqual(["n-1"]);
    // Deleted after the edge's 200 to the completion.
    const completedAt = edge.callsTo("/complete", job)[0]!.at;
    const deletedAt = clair.requests.find((r) => r.method === "DELETE")!.at;
    expect(deletedAt).toBeGreaterThanOrEqual(completedAt);
  });

  it("keeps a notification at Clair when the edge refuses the result, and fails the job for good", async () => {
    const { edge, clair, connector } = await setUp();
    edge.refuseResults = true;
    clair.addNotification("n-2", [[]]);
    const job = edge.queue("scan_notification", { notification_id: "n-2" });
    await edge.waitFor(() => Boolean(job.failed), "the job to fail", 30_000);
    expect(job.failed).toEqual({
      error:
        "the edge refused the result: POST /connector/v1/jobs/" +
        job.uuid +
        "/complete: 400 invalid The result does not parse",
      retry: false,
    });
    expect(clair.deletedNotifications, connector.output()).toEqual([]);
  });
});
