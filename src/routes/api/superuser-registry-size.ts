/**
 * `GET|POST /api/v1/superuser/registrysize/` (Quay `endpoints/api/superuser.py`,
 * `SuperUserRegistrySize`): the registry's size as last calculated, and queueing a calculation
 * (src/registry/registry-size.ts). Superusers only.
 */
import { Hono } from "hono";
import { requireSuperuser } from "../../middleware/api-caller";
import { documented } from "./openapi";
import type { AppEnv } from "../app-env";
import { queueRegistrySizeCalculation, registrySizeView } from "../../registry/registry-size";

export const superuserRegistrySizeRoutes = new Hono<AppEnv>();

documented("GET", "/superuser/registrysize", {
  operationId: "getRegistrySize",
  summary: "The registry's size as last calculated.",
  scope: "super:user",
});
/** Quay's `size_bytes`, `last_ran` (ms since the epoch, null before the first), `queued`, `running`. */
superuserRegistrySizeRoutes.get("/superuser/registrysize", requireSuperuser(), async (c) => {
  return c.json(await registrySizeView(c.var.db));
});

documented("POST", "/superuser/registrysize", {
  operationId: "queueRegistrySizeCalculation",
  summary: "Queues a calculation of the registry's size.",
  scope: "super:user",
  status: 201,
});
/** Quay: 201 with an empty body when queued, 202 when a calculation was queued or running already. */
superuserRegistrySizeRoutes.post("/superuser/registrysize", requireSuperuser(), async (c) => {
  const outcome = await queueRegistrySizeCalculation(c.var.db, c.env);
  return c.body(null, outcome === "queued" ? 201 : 202);
});
