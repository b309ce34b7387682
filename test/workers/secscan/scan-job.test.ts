/**
 * The `scan` job as a connector meets it (docs/connector.md "scan"): what it is told (the image's
 * layers, in order, each with a signed URL good 15 minutes for that layer of that manifest in that
 * repository, which serves the layer's bytes and nothing else), what its completion records (the
 * report in R2 in Quay's shape, the counts in `manifest_scans`, `manifest_scanned` and, on a first
 * scan, one `vulnerability_found` per repository holding the manifest) and what a failure does.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { manifests, repositoryBlobs } from "../../../src/db/schema";
import { DomainError } from "../../../src/errors/domain";
import { scanJobHandler } from "../../../src/secscan/scan-job";
import { findRepository } from "../../../src/registry/repositories";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { advanceClock } from "../helpers/clock";
import { bodyBytes } from "../helpers/registry";
import { clairReport, fetchWith, jobContext, pushImage, scannerEnv, scanRow } from "./fixtures";

const USER = "sasha";

beforeAll(async () => {
  await makeUser(await initializeAdmin(), USER);
});

/** The layer URLs' paths, as Clair would GET them. */
const pathOf = (uri: string) => new URL(uri).pathname;

async function described(repository: string, tag: string) {
  const image = await pushImage(scannerEnv(), USER, repository, tag);
  const job = await leaseOpenJob("scan", image.digest);
  const ctx = jobContext();
  const description = (await scanJobHandler.describe(job, ctx)) as {
    scan: { manifest: string; repository: string; layers: { hash: string; uri: string; headers: object }[] };
  };
  return { image, job, ctx, description };
}

describe("describe", () => {
  it("tells the manifest, its repository and its layers in order, each with a signed URL", async () => {
    const { image, description } = await described(`${USER}/app`, "v1");
    expect(description.scan.manifest).toBe(image.digest);
    expect(description.scan.repository).toBe(`${USER}/app`);
    expect(description.scan.layers.map((l) => l.hash)).toEqual(image.layers);
    for (const layer of description.scan.layers) {
      expect(layer.uri).toMatch(
        /^http:\/\/registry\.test\/connector\/v1\/layers\/\d+\.[a-f0-9]{64}\.[a-f0-9]{64}\.\d+\.[\w-]{43}$/,
      );
      expect(layer.headers).toEqual({});
    }
  });

  it("is null once the manifest is gone from every repository", async () => {
    const { image, job } = await described(`${USER}/gone`, "v1");
    await db().update(manifests).set({ deletedAt: Date.now() }).where(eq(manifests.digest, image.digest));
    expect(await scanJobHandler.describe(job, jobContext())).toBeNull();
  });
});

describe("the layer URLs", () => {
  it("serve the layer's bytes without credentials", async () => {
    const { image, description } = await described(`${USER}/layers`, "v1");
    const res = await fetchWith(scannerEnv(), "GET", pathOf(description.scan.layers[1]!.uri));
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(image.layers[1]);
    const bytes = await bodyBytes(res);
    expect(new TextDecoder().decode(bytes)).toMatch(/^layer 1 /);
  });

  it("refuse an expired URL (403) and a tampered one (404), reading nothing", async () => {
    const { description } = await described(`${USER}/expiry`, "v1");
    const path = pathOf(description.scan.layers[0]!.uri);
    const [first, second] = description.scan.layers.map((l) => pathOf(l.uri).split("/").pop()!.split("."));
    // Another layer's hex under this layer's signature: the signature names the layer.
    const swapped = [first![0], first![1], second![2], first![3], first![4]].join(".");
    const tampered = await fetchWith(scannerEnv(), "GET", `/connector/v1/layers/${swapped}`);
    expect({ status: tampered.status, body: await tampered.json() }).toEqual({
      status: 404,
      body: { error: expect.any(String) },
    });
    const later = [first![0], first![1], first![2], String(Number(first![3]) + 3600), first![4]].join(".");
    expect((await fetchWith(scannerEnv(), "GET", `/connector/v1/layers/${later}`)).status).toBe(404);
    expect((await fetchWith(scannerEnv(), "GET", "/connector/v1/layers/not-a-link")).status).toBe(404);
    advanceClock(15 * 60 * 1000 + 1000);
    const expired = await fetchWith(scannerEnv(), "GET", path);
    expect({ status: expired.status, body: await expired.json() }).toEqual({
      status: 403,
      body: { error: "This link has expired" },
    });
  });

  it("stop serving once the repository no longer holds the manifest or links the layer", async () => {
    const { image, description } = await described(`${USER}/unlinked`, "v1");
    const repository = (await findRepository(db(), `${USER}/unlinked`))!;
    await db().delete(repositoryBlobs).where(eq(repositoryBlobs.digest, image.layers[0]!));
    expect((await fetchWith(scannerEnv(), "GET", pathOf(description.scan.layers[0]!.uri))).status).toBe(404);
    expect((await fetchWith(scannerEnv(), "GET", pathOf(description.scan.layers[1]!.uri))).status).toBe(200);
    await db().update(manifests).set({ deletedAt: Date.now() }).where(eq(manifests.repositoryId, repository.id));
    expect((await fetchWith(scannerEnv(), "GET", pathOf(description.scan.layers[1]!.uri))).status).toBe(404);
  });

  it("stop serving once the repository is deleted", async () => {
    const { description } = await described(`${USER}/doomed`, "v1");
    const token = await tokenFor(USER);
    const res = await fetchWith(scannerEnv(), "DELETE", `/api/v1/repository/${USER}/doomed`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(204);
    expect((await fetchWith(scannerEnv(), "GET", pathOf(description.scan.layers[0]!.uri))).status).toBe(404);
  });
});

describe("complete", () => {
  it("keeps the report in Quay's shape, counts it, and tells the repository what a first scan found", async () => {
    const { image, job, ctx } = await described(`${USER}/scanned`, "v1");
    const report = clairReport(image.digest, image.layers[0]!);
    await scanJobHandler.complete(job, { status: "scanned", indexer_state: "clair-v4-abc", report }, ctx);
    const row = (await scanRow(image.digest))!;
    expect(row).toMatchObject({ status: "scanned", indexerState: "clair-v4-abc", error: null });
    expect(JSON.parse(row.summary!)).toEqual({
      features: 3,
      vulnerabilities: { Critical: 1, High: 2, Medium: 0, Low: 0, Negligible: 0, Unknown: 0 },
      fixable: 2,
    });
    const stored = await env.BLOBS.get(row.reportKey!);
    expect(((await stored!.json()) as { Layer: { Name: string } }).Layer.Name).toBe(image.digest);
    expect(ctx.published.map((e) => e.kind)).toEqual(["manifest_scanned", "vulnerability_found"]);
    expect(ctx.published[0]!.data).toEqual({ digest: image.digest, status: "scanned", vulnerabilities: 3 });
    expect(ctx.published[1]).toMatchObject({
      repository: { name: `${USER}/scanned` },
      actor: { kind: "system", name: "scanner" },
      data: {
        digest: image.digest,
        tags: ["v1"],
        vulnerabilities: [
          { id: "CVE-2021-3711", priority: "Critical", has_fix: true, package: "openssl" },
          { id: "CVE-2018-25032", priority: "High", has_fix: true, package: "zlib" },
          { id: "CVE-2021-3712", priority: "High", has_fix: false, package: "openssl" },
        ],
      },
    });
    // A second scan (Clair's report changed) replaces the report and notifies nothing.
    const again = jobContext();
    await scanJobHandler.complete(job, { status: "scanned", indexer_state: "clair-v4-def", report }, again);
    expect(again.published.map((e) => e.kind)).toEqual(["manifest_scanned"]);
    const rescanned = (await scanRow(image.digest))!;
    expect(rescanned.reportKey).not.toBe(row.reportKey);
    expect(await env.BLOBS.get(row.reportKey!)).toBeNull();
  });

  it("refuses a report that does not parse or is of another manifest, changing nothing", async () => {
    const { image, job, ctx } = await described(`${USER}/bad`, "v1");
    const other = clairReport(`sha256:${"0".repeat(64)}`, image.layers[0]!);
    for (const body of [
      { status: "scanned", indexer_state: "x", report: { manifest_hash: image.digest, packages: "no" } },
      { status: "scanned", indexer_state: "x", report: other },
      { status: "done" },
    ]) {
      const error = await scanJobHandler.complete(job, body, ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).kind).toBe("invalid");
    }
    expect(await scanRow(image.digest)).toMatchObject({ status: "queued" });
    expect(ctx.published).toEqual([]);
  });

  it("records what Clair cannot index as unsupported", async () => {
    const { image, job, ctx } = await described(`${USER}/odd`, "v1");
    await scanJobHandler.complete(job, { status: "unsupported", reason: "no layers Clair knows" }, ctx);
    expect(await scanRow(image.digest)).toMatchObject({ status: "unsupported", error: "no layers Clair knows" });
    expect(ctx.published.map((e) => e.data)).toEqual([
      { digest: image.digest, status: "unsupported", vulnerabilities: 0 },
    ]);
  });
});

describe("fail", () => {
  it("marks a scan failed, but keeps an earlier scan's result", async () => {
    const { image, job, ctx } = await described(`${USER}/broken`, "v1");
    await scanJobHandler.fail(job, "Clair answered 500", ctx);
    expect(await scanRow(image.digest)).toMatchObject({ status: "failed", error: "Clair answered 500" });
    expect(ctx.published.map((e) => e.data)).toEqual([{ digest: image.digest, status: "failed", vulnerabilities: 0 }]);
    await scanJobHandler.complete(
      job,
      { status: "scanned", indexer_state: "s", report: clairReport(image.digest, image.layers[0]!) },
      ctx,
    );
    await scanJobHandler.fail(job, "leases ran out", jobContext());
    expect(await scanRow(image.digest)).toMatchObject({ status: "scanned", error: "leases ran out" });
  });
});
