/**
 * Clair's notifications and `vulnerability_found`: `POST /secscan/notification` takes Clair's
 * webhook only with a JWT signed by the PSK (as Quay verifies it) and queues a `scan_notification`
 * job; the job's completion queues each affected manifest's scan again and tells each repository
 * holding it under a tag (Quay's security notification worker); each vulnerability is then one
 * delivery of Quay's `vulnerability_found` payload (seed §12.1.7), through the notification's
 * `level` filter.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { connectorJobs } from "../../../src/db/schema";
import type { RegistryEvent } from "../../../src/events/catalogue";
import { notifyEvent } from "../../../src/notifications/spawn";
import { findRepository } from "../../../src/registry/repositories";
import { scanNotificationJobHandler } from "../../../src/secscan/notification-job";
import { scanJobHandler } from "../../../src/secscan/scan-job";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { recordDeliveries } from "../helpers/notifications";
import { clairReport, fetchWith, jobContext, openJobs, PSK, pushImage, scannerEnv } from "./fixtures";

const USER = "nora";

beforeAll(async () => {
  await makeUser(await initializeAdmin(), USER);
});
afterEach(() => vi.restoreAllMocks());

const pskBytes = () => Uint8Array.from(atob(PSK), (c) => c.charCodeAt(0));

/** A JWT as Clair's notifier signs its webhook with the PSK. */
const clairJwt = (key = pskBytes(), expiresIn = "5m") =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("clair-notifier")
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);

async function notify(body: unknown, authorization: string | null, targetEnv = scannerEnv()) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (authorization) headers.Authorization = authorization;
  const res = await fetchWith(targetEnv, "POST", "/secscan/notification", { headers, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

describe("POST /secscan/notification", () => {
  it("queues a scan_notification job for a webhook signed with the PSK, once per notification", async () => {
    const id = crypto.randomUUID();
    const body = { notification_id: id, callback: `http://clair:6060/notifier/api/v1/notification/${id}` };
    expect(await notify(body, `Bearer ${await clairJwt()}`)).toEqual({ status: 200, text: "Okay" });
    expect(await notify(body, `Bearer ${await clairJwt()}`)).toEqual({ status: 200, text: "Okay" });
    expect((await openJobs("scan_notification", id)).map((j) => [j.state, j.repositoryId])).toEqual([["queued", null]]);
  });

  it("refuses a webhook unsigned, signed with another key, expired, without an expiry or with a far one, or not HS256 (401), queueing nothing", async () => {
    const id = crypto.randomUUID();
    const body = { notification_id: id, callback: "http://clair/x" };
    const other = crypto.getRandomValues(new Uint8Array(32));
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
      .sign(pskBytes());
    // Clair always sets the expiry, a minute ahead: a token without one, or good for a year, replays.
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("clair-notifier")
      .sign(pskBytes());
    const yearLong = await clairJwt(pskBytes(), "365d");
    const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${btoa("{}").replace(/=+$/, "")}.`;
    for (const authorization of [
      null,
      "Basic Zm9vOmJhcg==",
      `Bearer ${await clairJwt(other)}`,
      `Bearer ${expired}`,
      `Bearer ${none}`,
      `Bearer ${forever}`,
      `Bearer ${yearLong}`,
    ]) {
      const res = await notify(body, authorization);
      expect(res.status, String(authorization)).toBe(401);
      expect(JSON.parse(res.text)).toEqual({ error: expect.any(String) });
    }
    expect(await openJobs("scan_notification", id)).toEqual([]);
  });

  it("refuses every webhook when no PSK is configured, and is absent with the scanner off", async () => {
    const body = { notification_id: crypto.randomUUID(), callback: "http://clair/x" };
    const unset = await notify(body, `Bearer ${await clairJwt()}`, scannerEnv({ SECURITY_SCANNER_V4_PSK: undefined }));
    expect(unset.status).toBe(401);
    const off = await notify(body, `Bearer ${await clairJwt()}`, env as unknown as Env);
    expect(off.status).toBe(404);
    expect(await openJobs("scan_notification", body.notification_id)).toEqual([]);
  });

  it("answers 400 to a body without notification_id and callback", async () => {
    const jwt = `Bearer ${await clairJwt()}`;
    expect((await notify({ notification_id: "x" }, jwt)).status).toBe(400);
    expect((await notify("not an object", jwt)).status).toBe(400);
  });

  it("answers 400 to a notification_id that would reach another path of Clair's notifier API", async () => {
    const jwt = `Bearer ${await clairJwt()}`;
    for (const id of ["../../indexer/api/v1/index_report", "a/b", "a?page=x", "a#b", "%2e%2e", "a b", "x".repeat(65)]) {
      expect((await notify({ notification_id: id, callback: "http://clair/x" }, jwt)).status, id).toBe(400);
      expect(await openJobs("scan_notification", id)).toEqual([]);
    }
  });
});

/** A Clair notification entry (its VulnSummary) for `manifest`. */
const entry = (manifest: string, name: string, severity: string, reason = "added") => ({
  id: crypto.randomUUID(),
  manifest,
  reason,
  vulnerability: {
    name,
    fixed_in_version: severity === "Critical" ? "2.0.1" : "",
    links: `https://nvd.nist.gov/vuln/detail/${name}`,
    description: `${name} is bad`,
    normalized_severity: severity,
    package: { id: "", name: "libfoo", version: "", kind: "binary" },
    distribution: { id: "", did: "debian", name: "Debian GNU/Linux", version: "11" },
    repository: { id: "", name: "", uri: "" },
  },
});

describe("the scan_notification job", () => {
  it("tells the connector the notification's id", async () => {
    const job = { ...(await leasedNotification()), subject: "abc" };
    expect(await scanNotificationJobHandler.describe(job, jobContext())).toEqual({
      scan_notification: { notification_id: "abc" },
    });
  });

  it("queues the manifest's scan again and tells each tagged repository holding it, most severe first", async () => {
    const image = await pushImage(scannerEnv(), USER, `${USER}/web`, "prod");
    const scan = await leaseOpenJob("scan", image.digest);
    await scanJobHandler.complete(
      scan,
      {
        status: "scanned",
        indexer_state: "s",
        report: { ...clairReport(image.digest, image.layers[0]!), package_vulnerabilities: {} },
      },
      jobContext(),
    );
    await db().update(connectorJobs).set({ state: "done" }).where(eq(connectorJobs.id, scan.id));
    const ctx = jobContext();
    await scanNotificationJobHandler.complete(
      await leasedNotification(),
      {
        notifications: [
          entry(image.digest, "CVE-2024-0002", "Medium"),
          entry(image.digest, "CVE-2024-0001", "Critical"),
          entry(image.digest, "CVE-2024-0003", "High", "removed"),
          entry(`sha256:${"1".repeat(64)}`, "CVE-2024-0004", "High"),
        ],
      },
      ctx,
    );
    expect((await openJobs("scan", image.digest)).filter((j) => j.state === "queued")).toHaveLength(1);
    expect(ctx.published).toHaveLength(1);
    expect(ctx.published[0]).toMatchObject({
      kind: "vulnerability_found",
      repository: { name: `${USER}/web` },
      data: {
        digest: image.digest,
        tags: ["prod"],
        vulnerabilities: [
          {
            id: "CVE-2024-0001",
            priority: "Critical",
            has_fix: true,
            package: "libfoo",
            link: "https://nvd.nist.gov/vuln/detail/CVE-2024-0001",
          },
          { id: "CVE-2024-0002", priority: "Medium", has_fix: false, description: "CVE-2024-0002 is bad" },
        ],
      },
    });
  });

  it("refuses a completion that does not parse", async () => {
    const bad = await scanNotificationJobHandler
      .complete(await leasedNotification(), { notifications: [{ manifest: "x" }] }, jobContext())
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ kind: "invalid" });
  });
});

async function leasedNotification() {
  const id = crypto.randomUUID();
  await notify({ notification_id: id, callback: "http://clair/x" }, `Bearer ${await clairJwt()}`);
  return leaseOpenJob("scan_notification", id);
}

describe("vulnerability_found deliveries", () => {
  it("one per vulnerability with Quay's payload, through each notification's level", async () => {
    const token = await tokenFor(USER);
    await pushImage(scannerEnv(), USER, `${USER}/api`, "v1");
    for (const [title, eventConfig] of [
      ["everything", {}],
      ["high and worse", { level: 1 }],
    ] as const) {
      const res = await api("POST", `/repository/${USER}/api/notification/`, {
        token,
        body: {
          event: "vulnerability_found",
          method: "webhook",
          config: { url: "https://hooks.example.com/v" },
          eventConfig,
          title,
        },
      });
      expect(res.status).toBe(201);
    }
    const repository = (await findRepository(db(), `${USER}/api`))!;
    const event = {
      id: crypto.randomUUID(),
      kind: "vulnerability_found",
      at: Date.now(),
      namespace: USER,
      repository: { id: repository.id, name: repository.name },
      actor: { kind: "system", name: "scanner" },
      ip: null,
      data: {
        digest: `sha256:${"2".repeat(64)}`,
        tags: ["v1", "latest"],
        vulnerabilities: [
          {
            id: "CVE-1234-5678",
            description: "This is a bad vulnerability",
            link: "http://url/to/vuln/info",
            priority: "Critical",
            has_fix: true,
            package: "p",
          },
          {
            id: "CVE-1234-9999",
            description: "Less so",
            link: "http://url/2",
            priority: "Low",
            has_fix: false,
            package: "p",
          },
        ],
      },
    } as RegistryEvent;
    const queued = recordDeliveries();
    await notifyEvent(env, event);
    expect(queued).toHaveLength(3);
    expect(queued[0]!.payload).toEqual({
      repository: `${USER}/api`,
      namespace: USER,
      name: "api",
      docker_url: `registry.test/${USER}/api`,
      homepage: `http://registry.test/repository/${USER}/api`,
      tags: ["v1", "latest"],
      vulnerability: {
        id: "CVE-1234-5678",
        description: "This is a bad vulnerability",
        link: "http://url/to/vuln/info",
        priority: "Critical",
        has_fix: true,
      },
    });
    const byPriority = queued
      .map((d) => (d.payload as { vulnerability: { priority: string } }).vulnerability.priority)
      .sort();
    expect(byPriority).toEqual(["Critical", "Critical", "Low"]);
  });
});
