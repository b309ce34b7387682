/**
 * Scrape tokens for `/metrics`: what a superuser creates (`POST /api/v1/superuser/metrics/tokens`)
 * so a Prometheus server can scrape without an account. A token is `wharfm_` and 40 random
 * characters, shown once; only its SHA-256 is kept (as connectors' tokens, src/connector/
 * connectors.ts), so a leaked database names no usable token. A presented token is found by its
 * hash, and the stored hash is then compared with the presented one's in constant time.
 */
import { eq, sql } from "drizzle-orm";
import { type Db, runBatch } from "../db/client";
import { type MetricsToken, metricsTokens } from "../db/schema";
import { newEvent } from "../events/catalogue";
import { eventStatement, type EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import { sameString } from "../lib/constant-time";
import { generateToken } from "../identity/tokens";
import { clock } from "../lib/clock";
import { sha256Hex } from "../lib/encoding";

export const SCRAPE_TOKEN_PREFIX = "wharfm_";

/** A token's form: the prefix and 40 characters of the token alphabet (src/identity/tokens.ts). */
const TOKEN_FORM = /^wharfm_[A-Za-z0-9]{40}$/;

function tokenEvent(kind: "metrics_token_create" | "metrics_token_delete", t: MetricsToken, scope: EventScope) {
  return newEvent(kind, { namespace: null, repository: null }, scope.origin, {
    token: { uuid: t.uuid, name: t.name },
  });
}

/** Creates a scrape token and its `metrics_token_create` event; the token is returned here and never again. */
export async function createScrapeToken(
  db: Db,
  input: { name: string; createdBy: number | null },
  scope: EventScope,
): Promise<{ row: MetricsToken; token: string }> {
  const token = `${SCRAPE_TOKEN_PREFIX}${generateToken()}`;
  const row: MetricsToken = {
    id: 0,
    uuid: crypto.randomUUID(),
    name: input.name,
    tokenHash: await sha256Hex(token),
    createdBy: input.createdBy,
    createdAt: clock.now(),
  };
  const event = tokenEvent("metrics_token_create", row, scope);
  const { id: _, ...values } = row;
  await runBatch(db, [db.insert(metricsTokens).values(values), eventStatement(db, event)]);
  scope.publish([event]);
  const created = await findScrapeToken(db, row.uuid);
  if (!created) throw new Error(`scrape token ${row.uuid} vanished after its insert`);
  return { row: created, token };
}

export function findScrapeToken(db: Db, uuid: string): Promise<MetricsToken | undefined> {
  return db.select().from(metricsTokens).where(eq(metricsTokens.uuid, uuid)).get();
}

/** Every scrape token, oldest first. */
export function listScrapeTokens(db: Db): Promise<MetricsToken[]> {
  return db.select().from(metricsTokens).orderBy(metricsTokens.createdAt, metricsTokens.id).all();
}

/** Deletes a scrape token (it stops working at once), with its event; one batch. */
export async function deleteScrapeToken(db: Db, row: MetricsToken, scope: EventScope): Promise<void> {
  const event = tokenEvent("metrics_token_delete", row, scope);
  const [logged] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${metricsTokens} where id = ${row.id})`),
    db.delete(metricsTokens).where(eq(metricsTokens.id, row.id)),
  ]);
  // A concurrent deletion came first: its event is the one.
  if (written(logged)) scope.publish([event]);
}

/** Whether `presented` is a live scrape token (malformed, unknown and deleted tokens are not). */
export async function isScrapeToken(db: Db, presented: string): Promise<boolean> {
  if (!TOKEN_FORM.test(presented)) return false;
  const hash = await sha256Hex(presented);
  const row = await db
    .select({ tokenHash: metricsTokens.tokenHash })
    .from(metricsTokens)
    .where(eq(metricsTokens.tokenHash, hash))
    .get();
  if (!row) return false;
  return sameString(row.tokenHash, hash);
}
