/**
 * What clients may ask about the registry itself: Quay's error descriptions (endpoints/api/error.py,
 * the resource every error JSON's `type` URL names) and capabilities (endpoints/api/capabilities.py).
 * Both are open to anyone, as in Quay.
 */
import { Hono } from "hono";
import { notFound } from "../../errors/domain";
import { registryCapabilities } from "../../registry/capabilities";
import type { AppEnv } from "../app-env";
import { errorDescription } from "./errors";
import { documented } from "./openapi";

export const registryInfoRoutes = new Hono<AppEnv>();

documented("GET", "/error/:error_type", {
  operationId: "getErrorDescription",
  summary: "Describes an error type, the resource an error's `type` URL names.",
  scope: null,
});
registryInfoRoutes.get("/error/:error_type", (c) => {
  const description = errorDescription(c.req.param("error_type"), c.var.publicOrigin.origin);
  if (!description) throw notFound();
  return c.json(description);
});

documented("GET", "/registry/capabilities", {
  operationId: "getRegistryCapabilities",
  summary: "What this registry supports: sparse manifests, the architectures mirroring filters on.",
  scope: null,
});
registryInfoRoutes.get("/registry/capabilities", (c) => c.json(registryCapabilities()));
