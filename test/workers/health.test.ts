/**
 * Quay's `/health/instance` and `/health/endtoend` (src/routes/health.ts): Quay's answer with each
 * service's state, 200 while the database and blob storage answer, 503 (naming the failing service,
 * never its error) when one does not.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { BASE, request } from "./helpers/registry";

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as any;

/** A bucket whose every call fails, as R2 does in an outage. */
const brokenBucket = new Proxy(
  {},
  {
    get: () => async () => {
      throw new Error("R2 unavailable: secret-detail");
    },
  },
) as R2Bucket;

describe("health", () => {
  for (const path of ["/health/instance", "/health/endtoend"]) {
    it(`${path} answers Quay's shape, 200 with every service up`, async () => {
      const res = await request("GET", path, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await res.json()).toEqual({
        data: { services: { database: true, storage: true }, notes: [], is_testing: false },
        status_code: 200,
      });
    });

    it(`${path} answers 503 when storage fails, without the failure's detail`, async () => {
      const logged = vi.spyOn(console, "error").mockImplementation(() => {});
      const res = await createApp().fetch(new Request(`${BASE}${path}`), { ...env, BLOBS: brokenBucket }, ctx);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(text).not.toContain("secret-detail");
      expect(JSON.parse(text)).toEqual({
        data: { services: { database: true, storage: false }, notes: [], is_testing: false },
        status_code: 503,
      });
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("health check failed"));
      logged.mockRestore();
    });
  }
});
