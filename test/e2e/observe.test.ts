/**
 * Health and metrics against `npm start` (issue #19), where the queue and its consumer and the
 * Durable Objects are the real ones of workerd: `/health/endtoend` answers 200 with every service
 * up, and its queue probe reaches the EVENTS consumer, which drops it (the consumer's batch shows in
 * `wharf_queue_messages_total`); a scrape token a superuser creates scrapes `/metrics`, whose
 * counters move by exactly a push and a pull made over /v2, and stops working once deleted.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { registryHost } from "./helpers/clients";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let scrapeToken: string;
let tokenId: string;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  const made = await apiCall(base, wharf.adminToken, "POST", "/superuser/metrics/tokens", { name: "e2e" });
  scrapeToken = made.token;
  tokenId = made.uuid;
});

/** The samples of a scrape, by series. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${scrapeToken}` } });
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Scrapes until `ready` holds (each isolate sends its counts after its own answer), at most 15 s. */
async function scrapeUntil(ready: (samples: Map<string, number>) => boolean): Promise<Map<string, number>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const samples = await scrape();
    if (ready(samples) || Date.now() > deadline) return samples;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("health and metrics against npm start", () => {
  it("/health/endtoend answers 200 with the database, storage, queue and Durable Objects up; the probe is consumed", async () => {
    const consumed = 'wharf_queue_messages_total{queue="wharf-events"}';
    const before = (await scrape()).get(consumed) ?? 0;
    const res = await fetch(`${base}/health/endtoend`);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({
      data: {
        services: { database: true, storage: true, queue: true, durable_objects: true },
        notes: [],
        is_testing: false,
      },
      status_code: 200,
    });
    const after = await scrapeUntil((s) => (s.get(consumed) ?? 0) > before);
    expect(after.get(consumed)).toBeGreaterThan(before);
    expect(after.get('wharf_queue_lag_seconds{queue="wharf-events"}')).toBeGreaterThanOrEqual(0);
  });

  it("/health/warning answers Quay's shape; the queue and dead-letter checks pass", async () => {
    const res = await fetch(`${base}/health/warning`);
    const body = (await res.json()) as { data: { services: Record<string, boolean> }; status_code: number };
    expect(body.status_code).toBe(res.status);
    expect(body.data.services).toMatchObject({ queue_lag_warning: true, dead_letter_warning: true });
    // npm start names no SERVER_HOSTNAME unless told: a setting a deployment should not keep.
    expect(res.status).toBe(body.data.services.configuration_warning ? 200 : 503);
  });

  it("counts a push and a pull exactly", async () => {
    const login = await wharf.credentialsFor("e2e");
    const repository = `e2e/metrics-${Date.now().toString(36)}`;
    const pushes =
      'quay_registry_image_pushes_total{protocol="v2",status="201",media_type="application/vnd.oci.image.manifest.v1+json"}';
    const pulls = 'quay_registry_image_pulls_total{protocol="v2",ref="tag",status="200"}';
    const before = await scrape();
    await pushOneLayerImage(base, registryHost(base), login, repository, "v1");
    const scope = encodeURIComponent(`repository:${repository}:pull`);
    const auth = await fetch(`${base}/v2/auth?service=${encodeURIComponent(registryHost(base))}&scope=${scope}`, {
      headers: { Authorization: `Basic ${btoa(`${login.username}:${login.password}`)}` },
    });
    const headers = { Authorization: `Bearer ${((await auth.json()) as { token: string }).token}` };
    const manifest = await fetch(`${base}/v2/${repository}/manifests/v1`, {
      headers: { ...headers, Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status).toBe(200);
    const layer = ((await manifest.json()) as { layers: { digest: string; size: number }[] }).layers[0]!;
    const blob = await fetch(`${base}/v2/${repository}/blobs/${layer.digest}`, { headers });
    expect((await blob.arrayBuffer()).byteLength).toBe(layer.size);

    const delta = (s: Map<string, number>, key: string) => (s.get(key) ?? 0) - (before.get(key) ?? 0);
    const pulledBytes = 'quay_registry_image_pulled_estimated_bytes_total{protocol="v2"}';
    const after = await scrapeUntil((s) => delta(s, pulls) >= 1 && delta(s, pulledBytes) >= layer.size);
    expect(delta(after, pushes)).toBe(1);
    expect(delta(after, pulls)).toBe(1);
    expect(delta(after, pulledBytes)).toBe(layer.size);
    // The config and the layer, each sent once.
    expect(delta(after, "quay_registry_image_pushed_bytes_total")).toBeGreaterThan(layer.size);
  });

  it("refuses the scrape token once deleted", async () => {
    await apiCall(base, wharf.adminToken, "DELETE", `/superuser/metrics/tokens/${tokenId}`);
    const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${scrapeToken}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Invalid or expired token" });
  });
});
