/**
 * `GET /api/v1/repository/{repository}/manifest/{manifestref}/security` (Quay's
 * `getRepoManifestSecurity`): each status's answer, the scanned report in Quay's shape built from
 * Clair's VulnerabilityReport (Quay `features_for`, `SecurityInformation.to_dict`), the features
 * without their vulnerabilities for `vulnerabilities=false`, and who may read it.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { connectorJobs } from "../../../src/db/schema";
import { scanJobHandler } from "../../../src/secscan/scan-job";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { clairReport, fetchWith, jobContext, openJobs, pushImage, scannerEnv } from "./fixtures";

const OWNER = "sec-owner";
const STRANGER = "sec-stranger";
let ownerToken: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, OWNER);
  await makeUser(admin, STRANGER);
  ownerToken = await tokenFor(OWNER);
});

async function security(path: string, token: string | null = ownerToken, targetEnv = scannerEnv()) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetchWith(targetEnv, "GET", `/api/v1/repository/${path}`, { headers });
  return { status: res.status, json: (await res.json()) as any };
}

async function scanned(repository: string) {
  const image = await pushImage(scannerEnv(), OWNER, repository, "latest");
  const job = await leaseOpenJob("scan", image.digest);
  const report = clairReport(image.digest, image.layers[0]!);
  await scanJobHandler.complete(job, { status: "scanned", indexer_state: "state", report }, jobContext());
  return image;
}

const OPENSSL_CRITICAL = {
  Severity: "Critical",
  NamespaceName: "alpine-main-v3.14-updater",
  Link: "https://nvd.nist.gov/vuln/detail/CVE-2021-3711",
  FixedBy: "1.1.1l-r0",
  Description: "CVE-2021-3711 description",
  Name: "CVE-2021-3711",
  Metadata: {
    UpdatedBy: "alpine-main-v3.14-updater",
    RepoName: "",
    RepoLink: "",
    DistroName: "Alpine Linux",
    DistroVersion: "3.14",
    NVD: { CVSSv3: { Vectors: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8 } },
  },
};

describe("a scanned manifest", () => {
  it("answers Quay's Layer with its features and their vulnerabilities", async () => {
    const image = await scanned(`${OWNER}/alpine`);
    const { status, json } = await security(`${OWNER}/alpine/manifest/${image.digest}/security?vulnerabilities=true`);
    expect(status).toBe(200);
    expect(json.status).toBe("scanned");
    expect(json.data.Layer).toMatchObject({
      Name: image.digest,
      ParentName: "",
      NamespaceName: "",
      IndexedByVersion: 4,
    });
    const features = Object.fromEntries(json.data.Layer.Features.map((f: { Name: string }) => [f.Name, f]));
    // Clair's order of its packages ("10", "11", "9"), as Quay iterates them.
    expect(json.data.Layer.Features.map((f: { Name: string }) => f.Name)).toEqual(["openssl", "zlib", "busybox"]);
    expect(features.openssl).toEqual({
      Name: "openssl",
      VersionFormat: "",
      NamespaceName: "",
      AddedBy: image.layers[0],
      Version: "1.1.1k-r0",
      BaseScores: [9.8, 7.4],
      CVEIds: ["CVE-2021-3711", "CVE-2021-3712"],
      // CVE-2021-3711 twice in Clair's report (two updaters), once here.
      Vulnerabilities: [
        OPENSSL_CRITICAL,
        {
          ...OPENSSL_CRITICAL,
          // No normalized severity: High from the highest CVSS score of its enrichment; "0" is no fix.
          Severity: "High",
          Link: "https://nvd.nist.gov/vuln/detail/CVE-2021-3712",
          FixedBy: "",
          Description: "CVE-2021-3712 description",
          Name: "CVE-2021-3712",
          Metadata: {
            ...OPENSSL_CRITICAL.Metadata,
            NVD: { CVSSv3: { Vectors: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H", Score: 7.4 } },
          },
        },
      ],
    });
    // A URL-encoded fixed version is read as Quay reads it; no enrichment: an empty CVSS.
    expect(features.zlib.Vulnerabilities).toEqual([
      expect.objectContaining({
        Name: "CVE-2018-25032",
        Severity: "High",
        FixedBy: "1.2.12-r0",
        Metadata: expect.objectContaining({ NVD: { CVSSv3: { Vectors: "", Score: "" } } }),
      }),
    ]);
    expect(features.zlib.BaseScores).toEqual([]);
    expect(features.busybox).toMatchObject({ Vulnerabilities: [], CVEIds: [], BaseScores: [] });
  });

  it("answers the features alone without vulnerabilities=true (Quay's default is false)", async () => {
    const image = await scanned(`${OWNER}/plain`);
    for (const query of ["", "?vulnerabilities=false", "?vulnerabilities=nope"]) {
      const { json } = await security(`${OWNER}/plain/manifest/${image.digest}/security${query}`);
      expect(json.status).toBe("scanned");
      expect(json.data.Layer.Features).toHaveLength(3);
      for (const feature of json.data.Layer.Features) expect(feature.Vulnerabilities).toEqual([]);
    }
    const { json } = await security(`${OWNER}/plain/manifest/${image.digest}/security?vulnerabilities=1`);
    expect(json.data.Layer.Features.flatMap((f: { Vulnerabilities: unknown[] }) => f.Vulnerabilities)).toHaveLength(3);
  });
});

describe("the other statuses", () => {
  it("queued, failed and unsupported answer no data", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/states`, "v1");
    const path = `${OWNER}/states/manifest/${image.digest}/security?vulnerabilities=true`;
    expect(await security(path)).toEqual({ status: 200, json: { status: "queued", data: null } });
    const job = await leaseOpenJob("scan", image.digest);
    await scanJobHandler.fail(job, "Clair is down", jobContext());
    expect(await security(path)).toEqual({ status: 200, json: { status: "failed", data: null } });
    const chart = await pushImage(scannerEnv(), OWNER, `${OWNER}/states`, "chart", {
      configMediaType: "application/vnd.cncf.helm.config.v1+json",
    });
    expect(await security(`${OWNER}/states/manifest/${chart.digest}/security`)).toEqual({
      status: 200,
      json: { status: "unsupported", data: null },
    });
  });
});

describe("asking keeps a scan coming", () => {
  it("queues a queued manifest's job again when it went (with the repository that pushed it)", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/orphan`, "v1");
    await db().delete(connectorJobs).where(eq(connectorJobs.subject, image.digest));
    const { json } = await security(`${OWNER}/orphan/manifest/${image.digest}/security`);
    expect(json).toEqual({ status: "queued", data: null });
    expect((await openJobs("scan", image.digest)).map((j) => j.state)).toEqual(["queued"]);
    await security(`${OWNER}/orphan/manifest/${image.digest}/security`);
    expect(await openJobs("scan", image.digest)).toHaveLength(1);
  });

  it("tries a failed scan again a day later, still answering failed meanwhile", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/retry`, "v1");
    const job = await leaseOpenJob("scan", image.digest);
    await scanJobHandler.fail(job, "Clair is down", jobContext());
    await db().update(connectorJobs).set({ state: "failed" }).where(eq(connectorJobs.id, job.id));
    const path = `${OWNER}/retry/manifest/${image.digest}/security`;
    expect((await security(path)).json.status).toBe("failed");
    expect((await openJobs("scan", image.digest)).map((j) => j.state)).toEqual(["failed"]);
    advanceClock(24 * 60 * 60 * 1000 + 1000);
    expect((await security(path)).json.status).toBe("failed");
    expect((await openJobs("scan", image.digest)).map((j) => j.state).sort()).toEqual(["failed", "queued"]);
  });
});

describe("who may read it", () => {
  it("hides a private repository's scan from strangers and anonymous callers (404), as a missing one", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/secret`, "v1");
    const path = `${OWNER}/secret/manifest/${image.digest}/security`;
    const stranger = await security(path, await tokenFor(STRANGER));
    expect(stranger.status).toBe(404);
    expect(JSON.stringify(stranger.json)).not.toContain("secret");
    expect((await security(path, null)).status).toBe(404);
    expect(stranger).toEqual(
      await security(`${OWNER}/no-such/manifest/${image.digest}/security`, await tokenFor(STRANGER)),
    );
  });

  it("lets anyone read a public repository's scan", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/open`, "v1");
    const res = await fetchWith(scannerEnv(), "POST", `/api/v1/repository/${OWNER}/open/changevisibility`, {
      headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ visibility: "public" }),
    });
    expect(res.status).toBe(200);
    expect(await security(`${OWNER}/open/manifest/${image.digest}/security`, null)).toEqual({
      status: 200,
      json: { status: "queued", data: null },
    });
  });

  it("is 404 for a manifest the repository does not hold, a reference that is no digest, and with the feature off", async () => {
    const image = await pushImage(scannerEnv(), OWNER, `${OWNER}/mine`, "v1");
    await pushImage(scannerEnv(), OWNER, `${OWNER}/other`, "v1");
    expect((await security(`${OWNER}/other/manifest/${image.digest}/security`)).status).toBe(404);
    expect((await security(`${OWNER}/mine/manifest/v1/security`)).status).toBe(404);
    const off = await security(`${OWNER}/mine/manifest/${image.digest}/security`, ownerToken, env as unknown as Env);
    expect(off.status).toBe(404);
  });
});
