/**
 * `/metrics` (src/routes/metrics.ts, src/metrics/): Prometheus text whose counts are exact. A push,
 * pulls by tag and digest, blob reads (whole and ranged) and a refused request move their counters
 * by exactly what they did; the format parses strictly (./exposition-parser.ts). Who may scrape:
 * a superuser, a scrape token a superuser made (`/api/v1/superuser/metrics/tokens`: created once,
 * listed without secrets, deleted, logged), and no one else (401 anonymous or with a wrong or deleted
 * token, 403 for a user who is no superuser), in the plain surface's JSON.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { metricsTokens } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { loggedEntry } from "../helpers/action-logs";
import { api, initializeAdmin } from "../helpers/api";
import { OCI_MANIFEST, pushImage, randomBytes, request, sha256, uniqueName } from "../helpers/registry";
import { browser } from "../helpers/signed-in";
import { parseExposition } from "./exposition-parser";

let admin: string;
let someone: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "someone");
  someone = await tokenFor("someone", ["super:user", "user:admin"]);
});

const scrape = (token?: string) =>
  request("GET", "/metrics", { headers: token ? { Authorization: `Bearer ${token}` } : {} });

async function samples(token = admin): Promise<Map<string, number>> {
  const res = await scrape(token);
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return parseExposition(await res.text()).samples;
}

/** What each series moved by between two scrapes (series that did not move left out). */
function moved(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0 && !key.startsWith("wharf_queue_")) out[key] = delta;
  }
  return out;
}

describe("the counts", () => {
  it("move by exactly what a push, pulls, blob reads and a refusal did", async () => {
    const name = uniqueName("metrics");
    const before = await samples();

    const image = await pushImage(name, "v1", { layers: 2 });
    const configBytes = (await request("GET", `/v2/${name}/blobs/${image.config}`)).arrayBuffer();
    const configSize = (await configBytes).byteLength;
    const layerSizes = [1024, 1025];
    for (const path of [`manifests/v1`, `manifests/${image.digest}`]) {
      expect((await request("GET", `/v2/${name}/${path}`, { headers: { Accept: OCI_MANIFEST } })).status).toBe(200);
    }
    const whole = await request("GET", `/v2/${name}/blobs/${image.layers[0]}`);
    expect((await whole.arrayBuffer()).byteLength).toBe(1024);
    const ranged = await request("GET", `/v2/${name}/blobs/${image.layers[1]}`, { headers: { Range: "bytes=0-99" } });
    expect(ranged.status).toBe(206);
    await ranged.arrayBuffer();
    // A HEAD carries no bytes: not counted.
    await request("HEAD", `/v2/${name}/blobs/${image.layers[0]}`);
    const missing = await request("GET", `/v2/${name}/manifests/nope`);
    expect(missing.status).toBe(404);
    await missing.text();
    const refused = await api("GET", "/superuser/metrics/tokens", { token: someone });
    expect(refused.status).toBe(403);

    expect(moved(before, await samples())).toEqual({
      'quay_registry_image_pushes_total{protocol="v2",status="201",media_type="application/vnd.oci.image.manifest.v1+json"}': 1,
      quay_registry_image_pushed_bytes_total: configSize + layerSizes[0]! + layerSizes[1]!,
      'quay_registry_image_pulls_total{protocol="v2",ref="tag",status="200"}': 1,
      'quay_registry_image_pulls_total{protocol="v2",ref="manifest",status="200"}': 1,
      'quay_registry_image_pulled_estimated_bytes_total{protocol="v2"}': configSize + 1024 + 100,
      'wharf_http_errors_total{surface="registry",status="404",code="MANIFEST_UNKNOWN"}': 1,
      'wharf_http_errors_total{surface="api",status="403",code="insufficient_scope"}': 1,
    });
  });

  it("count a chunked upload's bytes once, at its completion", async () => {
    const name = uniqueName("metrics");
    const before = await samples();
    const bytes = randomBytes(3000);
    const start = await request("POST", `/v2/${name}/blobs/uploads/`);
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const patched = await request("PATCH", location, {
      body: bytes,
      headers: { "Content-Type": "application/octet-stream", "Content-Range": "0-2999", "Content-Length": "3000" },
    });
    expect(patched.status).toBe(202);
    const done = await request("PUT", `${patched.headers.get("Location")}?digest=${await sha256(bytes)}`, {
      headers: { "Content-Length": "0" },
    });
    expect(done.status).toBe(201);
    expect(moved(before, await samples())).toEqual({ quay_registry_image_pushed_bytes_total: 3000 });
  });

  it("declare every metric, counters without labels from 0", async () => {
    const res = await scrape(admin);
    const { types, samples: all } = parseExposition(await res.text());
    expect(Object.fromEntries(types)).toMatchObject({
      quay_registry_image_pushes_total: "counter",
      quay_registry_image_pulls_total: "counter",
      quay_registry_image_pushed_bytes_total: "counter",
      quay_registry_image_pulled_estimated_bytes_total: "counter",
      quay_gc_storage_blobs_deleted_total: "counter",
      wharf_gc_reclaimed_bytes_total: "counter",
      wharf_http_errors_total: "counter",
      wharf_queue_lag_seconds: "gauge",
      wharf_queue_dead_lettered_total: "counter",
      wharf_notification_delivery_failures_total: "counter",
    });
    expect(all.get("quay_gc_storage_blobs_deleted_total")).toBeGreaterThanOrEqual(0);
  });
});

describe("who may scrape", () => {
  it("refuses anyone without a credential (401) and a user who is no superuser (403), in plain JSON", async () => {
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect(await anonymous.json()).toEqual({ error: "Requires authentication" });
    const user = await scrape(someone);
    expect(user.status).toBe(403);
    expect(await user.json()).toEqual({ error: "Unauthorized" });
    const wrong = await scrape(`wharfm_${"x".repeat(40)}`);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "Invalid or expired token" });
    const garbage = await scrape("not-a-token");
    expect(garbage.status).toBe(401);
    await garbage.text();
  });

  it("lets a superuser's signed-in browser scrape", async () => {
    const headers = await browser("admin", "admin-password-1");
    const res = await request("GET", "/metrics", { headers: { Cookie: headers.Cookie! } });
    expect(res.status).toBe(200);
    parseExposition(await res.text());
  });

  it("takes a scrape token a superuser created, until it is deleted; the token is shown once, stored hashed", async () => {
    const created = await api("POST", "/superuser/metrics/tokens", { token: admin, body: { name: " prometheus " } });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      uuid: expect.any(String),
      name: "prometheus",
      created: expect.stringMatching(/-0000$/),
      token: expect.stringMatching(/^wharfm_[A-Za-z0-9]{40}$/),
    });
    const row = await db().select().from(metricsTokens).where(eq(metricsTokens.uuid, created.json.uuid)).get();
    expect(row?.tokenHash).toBe(await sha256Hex(created.json.token));

    const listed = await api("GET", "/superuser/metrics/tokens", { token: admin });
    expect(listed.status).toBe(200);
    const mine = listed.json.tokens.find((t: { uuid: string }) => t.uuid === created.json.uuid);
    expect(mine).toEqual({ uuid: created.json.uuid, name: "prometheus", created: created.json.created });
    expect(JSON.stringify(listed.json)).not.toContain(created.json.token);

    await samples(created.json.token);
    // One character off is refused.
    const last = created.json.token.at(-1) === "a" ? "b" : "a";
    expect((await scrape(created.json.token.slice(0, -1) + last)).status).toBe(401);

    const deleted = await api("DELETE", `/superuser/metrics/tokens/${created.json.uuid}`, { token: admin });
    expect(deleted.status).toBe(204);
    const after = await scrape(created.json.token);
    expect(after.status).toBe(401);
    await after.text();
    expect((await api("DELETE", `/superuser/metrics/tokens/${created.json.uuid}`, { token: admin })).status).toBe(404);
  });

  it("keeps the tokens' API to superusers", async () => {
    expect((await api("GET", "/superuser/metrics/tokens")).status).toBe(401);
    expect((await api("GET", "/superuser/metrics/tokens", { token: someone })).status).toBe(403);
    const body = { name: "x" };
    expect((await api("POST", "/superuser/metrics/tokens", { token: someone, body })).status).toBe(403);
    expect((await api("POST", "/superuser/metrics/tokens", { token: admin, body: { name: "" } })).status).toBe(400);
  });

  it("logs metrics_token_create and metrics_token_delete with the token's name and uuid, never the token", async () => {
    let uuid = "";
    let token = "";
    const created = await loggedEntry(admin, "/superuser/logs", "metrics_token_create", async () => {
      const res = await api("POST", "/superuser/metrics/tokens", { token: admin, body: { name: "logged" } });
      uuid = res.json.uuid;
      token = res.json.token;
      return res;
    });
    expect(created).toMatchObject({
      kind: "metrics_token_create",
      performer: { kind: "user", name: "admin" },
      metadata: { token: "logged", token_uuid: uuid },
    });
    expect(JSON.stringify(created)).not.toContain(token);
    const deleted = await loggedEntry(admin, "/superuser/logs", "metrics_token_delete", () =>
      api("DELETE", `/superuser/metrics/tokens/${uuid}`, { token: admin }),
    );
    expect(deleted).toMatchObject({ kind: "metrics_token_delete", metadata: { token: "logged", token_uuid: uuid } });
  });
});
