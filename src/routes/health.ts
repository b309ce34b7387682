/**
 * Quay's health endpoints beside `/health/live`: `GET /health/instance` and `GET /health/endtoend`
 * (Quay `endpoints/web.py`, `health/healthcheck.py`), open to anyone as in Quay, answering Quay's
 * `{data: {services, notes, is_testing}, status_code}` with 200 when every service answers and 503
 * otherwise. Wharf has no local processes or disk to check (Quay's gunicorn and disk-space
 * services), so both ask what every request depends on: the database (D1) and blob storage (R2).
 */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "./app-env";

/** A key no blob ever has (blob keys are digests): a HEAD of it proves the bucket answers. */
const STORAGE_PROBE = "_health/probe";

type Check = (c: { var: AppEnv["Variables"] }) => Promise<unknown>;

const SERVICES: Record<string, Check> = {
  database: (c) => c.var.db.run(sql`select 1`),
  storage: (c) => c.var.store.size(STORAGE_PROBE),
};

async function health(c: { var: AppEnv["Variables"] }) {
  const names = Object.keys(SERVICES);
  const outcomes = await Promise.allSettled(names.map((name) => SERVICES[name]!(c)));
  const services: Record<string, boolean> = {};
  names.forEach((name, i) => {
    services[name] = outcomes[i]!.status === "fulfilled";
    const failed = outcomes[i]!;
    // The failure's cause goes to the log, never to an anonymous caller.
    if (failed.status === "rejected")
      console.error(JSON.stringify({ msg: "health check failed", service: name, err: String(failed.reason) }));
  });
  const statusCode = Object.values(services).every(Boolean) ? 200 : 503;
  return { body: { data: { services, notes: [], is_testing: false }, status_code: statusCode }, statusCode };
}

export const healthRoutes = new Hono<AppEnv>();

for (const path of ["/health/instance", "/health/endtoend"]) {
  healthRoutes.get(path, async (c) => {
    const { body, statusCode } = await health(c);
    c.header("Cache-Control", "no-store");
    return c.json(body, statusCode as 200 | 503);
  });
}
