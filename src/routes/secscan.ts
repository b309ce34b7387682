/**
 * Clair's side doors: `POST /secscan/notification`, where Clair's notifier says that
 * vulnerabilities changed (Quay `endpoints/secscan.py`, `route_show_if` SECURITY_SCANNER: 404
 * without it), and `GET /connector/v1/layers/<signed>`, where Clair fetches the layers of a
 * manifest a connector asked it to index (src/secscan/layer-links.ts). Neither takes a session or
 * a token: the PSK-signed JWT and the signed URL are their credentials. Refusals are the plain
 * surface's JSON.
 */
import { and, eq, isNull, ne } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../config";
import { queueJobStatement } from "../connector/job-queue";
import { batchSql, database } from "../db/client";
import { coreShardOf } from "../db/core-shards";
import { manifestReferences, manifests, repositories } from "../db/schema";
import { DomainError, notFound } from "../errors/domain";
import { clock } from "../lib/clock";
import { readBounded } from "../lib/http";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { namespaceOf } from "../registry/repository-name";
import { checkLayerLink } from "../secscan/layer-links";
import { verifyNotifier } from "../secscan/notification-auth";
import type { AppEnv } from "./app-env";
import { plainError } from "./surfaces";
import { pullSourceOf } from "./v2/pull-source";

export const secscanRoutes = new Hono<AppEnv>();

/**
 * Clair's webhook body (Clair's `Callback`): both fields, as Quay requires them. The id (a UUID
 * in Clair) goes to the connector, which puts it in the path of Clair's notifier API: nothing but
 * letters, digits and dashes, so no id reaches another path (`../`, `?`, `#`, `/`).
 */
const callbackBody = z.object({
  notification_id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  callback: z.string().max(4096),
});

const REFUSALS = {
  no_psk: "Clair's notifications need SECURITY_SCANNER_V4_PSK to verify them",
  missing: "A Bearer JWT signed with the security scanner's PSK is required",
  invalid: "The JWT does not verify with the security scanner's PSK",
} as const;

secscanRoutes.post("/secscan/notification", async (c) => {
  if (!readConfig(c.env).FEATURE_SECURITY_SCANNER) throw notFound();
  const auth = await verifyNotifier(c.env.SECURITY_SCANNER_V4_PSK, c.req.header("Authorization"));
  if (!auth.ok) return plainError(401, REFUSALS[auth.why]);
  const bytes = await readBounded(
    c.req.raw,
    64 * 1024,
    () => new DomainError("too_large", { message: "Body too large" }),
  );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return plainError(400, "The body must be JSON");
  }
  const body = callbackBody.safeParse(json);
  if (!body.success) return plainError(400, "The body needs notification_id and callback");
  const job = { kind: "scan_notification" as const, subject: body.data.notification_id, repositoryId: null };
  await batchSql(c.var.db, [queueJobStatement(c.var.db, job).getSQL()]);
  return c.text("Okay");
});

const linkParam = z.string().max(512);

secscanRoutes.get("/connector/v1/layers/:signed", async (c) => {
  const segment = linkParam.safeParse(c.req.param("signed"));
  const check = segment.success ? await checkLayerLink(c.env, segment.data, clock.now()) : null;
  if (!check?.ok) {
    if (check?.why === "expired") throw new DomainError("denied", { message: "This link has expired" });
    throw notFound();
  }
  const { repositoryId, manifest, layer } = check.grant;
  // The repository must still exist and hold the manifest, and the manifest still name the layer:
  // a link outlives none of them. The bytes are then read as a /v2 pull reads them (only where the
  // repository links the blob; a proxy cache fetching it from its upstream first), from the
  // database holding the namespace's registry core (docs/sharding-the-registry-core.md).
  const held = await c.var.db
    .select({ name: repositories.name })
    .from(repositories)
    // A deleted repository is a tombstone until its rows are purged: it holds nothing any more.
    .where(and(eq(repositories.id, repositoryId), ne(repositories.namespace, TOMBSTONE_NAMESPACE)))
    .get();
  if (!held) throw notFound();
  const shard = await coreShardOf(c.env, namespaceOf(held.name));
  const core = database(shard.binding);
  const named = await core
    .select({ id: manifests.id })
    .from(manifests)
    .innerJoin(
      manifestReferences,
      and(
        eq(manifestReferences.manifestId, manifests.id),
        eq(manifestReferences.digest, layer),
        eq(manifestReferences.kind, "blob"),
      ),
    )
    .where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, manifest), isNull(manifests.deletedAt)))
    .get();
  if (!named) throw notFound();
  // pullSourceOf reads the request's core, which outside /v2 is `DB` (src/app.ts).
  c.set("core", core);
  c.set("coreShard", shard.number);
  const source = await pullSourceOf(c, held.name);
  const opened = await source.openBlob(held.name, layer, { bytes: true });
  if (!opened.body) throw notFound();
  return new Response(opened.body, {
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(opened.blob.size),
      "Docker-Content-Digest": layer,
      "Cache-Control": "private, no-store",
    },
  });
});
