/**
 * The origin connectors (docs/connector.md, "Who may call"): what a superuser creates so an on-prem
 * service may lease jobs. A connector's token is `wharfc_` and 40 random characters, shown once;
 * only its SHA-256 is kept, so a leaked database names no usable token, and a token is found by
 * its hash (an index lookup: nothing of the token is compared character by character).
 */
import { and, eq, isNull, lte, or, sql } from "drizzle-orm";
import { type Db, runBatch } from "../db/client";
import { type Connector, connectorJobs, connectors } from "../db/schema";
import { newEvent } from "../events/catalogue";
import { eventStatement, type EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import { generateToken, TOKEN_LENGTH } from "../identity/tokens";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";
import type { JobKind } from "./job-kinds";

export const TOKEN_PREFIX = "wharfc_";

/** What a superuser grants: `scan` brings Clair's notifications (`scan_notification`) with it. */
export const CONNECTOR_KINDS = ["build", "scan"] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

/** A connector's `lastSeenAt` is written at most this often: a lease poll is not a D1 write each time. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

/** The kinds a connector granted `kinds` may lease. */
export function leasableKinds(kinds: readonly ConnectorKind[]): JobKind[] {
  const out: JobKind[] = [];
  if (kinds.includes("build")) out.push("build");
  if (kinds.includes("scan")) out.push("scan", "scan_notification");
  return out;
}

/** The kinds stored on `connector` (its `kinds` JSON), unknown entries dropped. */
export function connectorKinds(connector: Connector): ConnectorKind[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(connector.kinds);
  } catch {
    return [];
  }
  return CONNECTOR_KINDS.filter((kind) => Array.isArray(parsed) && parsed.includes(kind));
}

/** What the connector said of itself at its last hello (version, host name, builder, scanner). */
export function connectorInfo(connector: Connector): Record<string, unknown> {
  try {
    const info = JSON.parse(connector.info);
    return info && typeof info === "object" && !Array.isArray(info) ? info : {};
  } catch {
    return {};
  }
}

const connectorRef = (c: Pick<Connector, "uuid" | "name">) => ({ uuid: c.uuid, name: c.name });

/** A registry-wide event of a connector: no namespace, no repository. */
function connectorEvent(kind: "connector_create" | "connector_delete", c: Connector, scope: EventScope) {
  return newEvent(kind, { namespace: null, repository: null }, scope.origin, { connector: connectorRef(c) });
}

export interface NewConnector {
  name: string;
  kinds: readonly ConnectorKind[];
  createdBy: number | null;
}

/** Creates a connector and its `connector_create` event; the token is returned here and never again. */
export async function createConnector(
  db: Db,
  input: NewConnector,
  scope: EventScope,
): Promise<{ connector: Connector; token: string }> {
  const token = `${TOKEN_PREFIX}${generateToken()}`;
  const connector: Connector = {
    id: 0,
    uuid: crypto.randomUUID(),
    name: input.name,
    tokenHash: await sha256Hex(token),
    kinds: JSON.stringify(CONNECTOR_KINDS.filter((k) => input.kinds.includes(k))),
    createdBy: input.createdBy,
    createdAt: clock.now(),
    lastSeenAt: null,
    info: "{}",
  };
  const event = connectorEvent("connector_create", connector, scope);
  const { id: _, ...values } = connector;
  await runBatch(db, [db.insert(connectors).values(values), eventStatement(db, event)]);
  scope.publish([event]);
  const created = await findConnector(db, connector.uuid);
  if (!created) throw new Error(`connector ${connector.uuid} vanished after its insert`);
  return { connector: created, token };
}

export function findConnector(db: Db, uuid: string): Promise<Connector | undefined> {
  return db.select().from(connectors).where(eq(connectors.uuid, uuid)).get();
}

/** Every connector, oldest first, with how many jobs each holds leased now. */
export async function listConnectors(db: Db): Promise<{ connector: Connector; leasedJobs: number }[]> {
  // Spelled out: drizzle writes a column of the only table unqualified, which the subquery would read as its own.
  const leased = sql<number>`(select count(*) from connector_jobs j where j.connector_id = connectors.id and j.state = 'leased')`;
  const rows = await db
    .select({ connector: connectors, leasedJobs: leased })
    .from(connectors)
    .orderBy(connectors.createdAt, connectors.id)
    .all();
  return rows.map((r) => ({ connector: r.connector, leasedJobs: Number(r.leasedJobs) }));
}

/**
 * Deletes a connector (its token stops working at once) and puts the jobs it holds back on the
 * queue, due now. Their lease is the operator's doing, not the job's: it is not counted against the
 * job's attempts. One batch with the `connector_delete` event.
 */
export async function deleteConnector(db: Db, connector: Connector, scope: EventScope): Promise<void> {
  const event = connectorEvent("connector_delete", connector, scope);
  const now = clock.now();
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${connectors} where id = ${connector.id})`),
    db
      .update(connectorJobs)
      .set({
        state: "queued",
        attempts: sql`max(${connectorJobs.attempts} - 1, 0)`,
        connectorId: null,
        leaseToken: null,
        leaseExpiresAt: null,
        availableAt: now,
        updatedAt: now,
      })
      .where(and(eq(connectorJobs.connectorId, connector.id), eq(connectorJobs.state, "leased"))),
    db.delete(connectors).where(eq(connectors.id, connector.id)),
  ]);
  // A concurrent deletion came first: its event is the one.
  if (written(row)) scope.publish([event]);
}

/** The connector a bearer token names, or null for anything else (malformed, unknown, deleted). */
export async function authenticateConnector(db: Db, token: string | null): Promise<Connector | null> {
  if (token === null || token.length !== TOKEN_PREFIX.length + TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX))
    return null;
  const found = await db
    .select()
    .from(connectors)
    .where(eq(connectors.tokenHash, await sha256Hex(token)))
    .get();
  return found ?? null;
}

/**
 * Records that `connector` called now, at most once a {@link LAST_SEEN_RESOLUTION_MS}: the
 * condition is in the update, so concurrent calls write it once.
 */
export async function touchConnector(db: Db, connector: Connector): Promise<void> {
  const now = clock.now();
  if (connector.lastSeenAt !== null && now - connector.lastSeenAt < LAST_SEEN_RESOLUTION_MS) return;
  await db
    .update(connectors)
    .set({ lastSeenAt: now })
    .where(
      and(
        eq(connectors.id, connector.id),
        or(isNull(connectors.lastSeenAt), lte(connectors.lastSeenAt, now - LAST_SEEN_RESOLUTION_MS)),
      ),
    );
}

/** A connector's hello: what it said of itself, and that it was seen now. */
export async function recordHello(db: Db, connector: Connector, info: Record<string, unknown>): Promise<void> {
  await db
    .update(connectors)
    .set({ info: JSON.stringify(info), lastSeenAt: clock.now() })
    .where(eq(connectors.id, connector.id));
}
