/**
 * Every manifest committed with FEATURE_SECURITY_SCANNER on is queued for a scan in the commit's
 * own batch: a `manifest_scans` row `queued` and a `scan` job (subject the digest, repository the
 * pushing one), unless the digest has a row already; manifest lists and non-image artifacts are
 * `unsupported` at once, with no job (Quay `mark_manifest_unsupported`). With the feature off a
 * push queues nothing; the security API queues such a manifest when asked (the backfill).
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { connectorJobs } from "../../../src/db/schema";
import { findRepository } from "../../../src/registry/repositories";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { initializeAdmin } from "../helpers/api";
import { OCI_MANIFEST } from "../helpers/registry";
import { fetchWith, openJobs, pushImage, pushIndex, putManifest, scannerEnv, scanRow } from "./fixtures";

const USER = "quinn";

beforeAll(async () => {
  await makeUser(await initializeAdmin(), USER);
});

describe("a push with the scanner on", () => {
  it("queues a scan job and a queued row in the commit", async () => {
    const image = await pushImage(scannerEnv(), USER, `${USER}/app`, "v1");
    const repository = (await findRepository(db(), `${USER}/app`))!;
    expect(await scanRow(image.digest)).toMatchObject({ status: "queued", summary: null, reportKey: null });
    const jobs = await openJobs("scan", image.digest);
    expect(jobs.map((j) => ({ state: j.state, repositoryId: j.repositoryId }))).toEqual([
      { state: "queued", repositoryId: repository.id },
    ]);
  });

  it("queues nothing more for a digest it has a row for, even once its job is closed", async () => {
    const image = await pushImage(scannerEnv(), USER, `${USER}/twice`, "v1");
    const [job] = await openJobs("scan", image.digest);
    await db().update(connectorJobs).set({ state: "done" }).where(eq(connectorJobs.id, job!.id));
    await putManifest(scannerEnv(), USER, `${USER}/twice`, "v2", image.manifest, OCI_MANIFEST);
    expect((await openJobs("scan", image.digest)).map((j) => [j.uuid, j.state])).toEqual([[job!.uuid, "done"]]);
  });

  it("marks a manifest list unsupported and queues no job for it; its child is queued", async () => {
    const child = await pushImage(scannerEnv(), USER, `${USER}/multi`, "child");
    const index = await pushIndex(scannerEnv(), USER, `${USER}/multi`, "latest", child);
    expect(await scanRow(index)).toMatchObject({ status: "unsupported" });
    expect(await openJobs("scan", index)).toEqual([]);
    expect(await scanRow(child.digest)).toMatchObject({ status: "queued" });
  });

  it("marks an artifact whose config is no image config unsupported", async () => {
    const chart = await pushImage(scannerEnv(), USER, `${USER}/chart`, "0.1.0", {
      configMediaType: "application/vnd.cncf.helm.config.v1+json",
    });
    expect(await scanRow(chart.digest)).toMatchObject({ status: "unsupported" });
    expect(await openJobs("scan", chart.digest)).toEqual([]);
  });
});

describe("with the scanner off", () => {
  it("a push queues nothing; asking for its security later queues it (Quay's backfill)", async () => {
    const image = await pushImage(env as unknown as Env, USER, `${USER}/early`, "v1");
    expect(await scanRow(image.digest)).toBeUndefined();
    expect(await openJobs("scan", image.digest)).toEqual([]);
    const token = await tokenFor(USER);
    const path = `/api/v1/repository/${USER}/early/manifest/${image.digest}/security`;
    const off = await fetchWith(env as unknown as Env, "GET", path, { headers: { Authorization: `Bearer ${token}` } });
    expect(off.status).toBe(404);
    const on = await fetchWith(scannerEnv(), "GET", path, { headers: { Authorization: `Bearer ${token}` } });
    expect({ status: on.status, body: await on.json() }).toEqual({
      status: 200,
      body: { status: "queued", data: null },
    });
    expect(await scanRow(image.digest)).toMatchObject({ status: "queued" });
    expect((await openJobs("scan", image.digest)).map((j) => j.state)).toEqual(["queued"]);
  });
});
