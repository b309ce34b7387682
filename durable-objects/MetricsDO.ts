/**
 * The exact aggregate of Wharf's metrics (src/metrics/recorder.ts): counters and gauges by series
 * key, in SQLite. Isolates add their increments in batches through `add`; `/metrics` reads them all
 * through `read`. One instance, named `metrics`: each isolate has at most one `add` in flight
 * (flushes are coalesced), and a batch is one small transaction, so one object keeps up with many
 * isolates; the series are few (closed label sets, src/metrics/catalogue.ts).
 *
 * Another instance, named `health`, answers `ping` for the health checks (src/routes/health.ts),
 * proving Durable Objects answer without touching the aggregate.
 */
import { DurableObject } from "cloudflare:workers";
import type { MetricsBatch } from "../src/metrics/recorder";
import { clock } from "../src/lib/clock";

/** How long a batch id is remembered: far beyond any retry of it. */
const APPLIED_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A series: its key, value, and when it last changed (unix ms; a gauge: when it was observed). */
export interface SeriesValue {
  key: string;
  value: number;
  at: number;
}

export interface MetricsSnapshot {
  counters: SeriesValue[];
  gauges: SeriesValue[];
}

export class MetricsDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      create table if not exists counters (key text primary key, value integer not null, at integer not null);
      create table if not exists gauges (key text primary key, value real not null, at integer not null);
      create table if not exists applied (id text primary key, at integer not null);
      create index if not exists applied_at on applied (at);`);
  }

  /** Adds a batch once: a batch id already applied (a retry) changes nothing. */
  add(batch: MetricsBatch): void {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      if (sql.exec("select 1 from applied where id = ?", batch.id).toArray().length > 0) return;
      const now = clock.now();
      sql.exec("insert into applied (id, at) values (?, ?)", batch.id, now);
      sql.exec("delete from applied where at < ?", now - APPLIED_RETENTION_MS);
      for (const [key, increment] of batch.counters) {
        sql.exec(
          `insert into counters (key, value, at) values (?, ?, ?)
           on conflict (key) do update set value = value + excluded.value, at = excluded.at`,
          key,
          increment,
          now,
        );
      }
      for (const [key, value, at] of batch.gauges) {
        sql.exec(
          `insert into gauges (key, value, at) values (?, ?, ?)
           on conflict (key) do update set value = excluded.value, at = excluded.at where excluded.at >= gauges.at`,
          key,
          value,
          at,
        );
      }
    });
  }

  /** Every series. */
  read(): MetricsSnapshot {
    const sql = this.ctx.storage.sql;
    return {
      counters: sql.exec<{ key: string; value: number; at: number }>("select key, value, at from counters").toArray(),
      gauges: sql.exec<{ key: string; value: number; at: number }>("select key, value, at from gauges").toArray(),
    };
  }

  /** The health check's question: does a Durable Object (and its storage) answer? */
  ping(): "pong" {
    this.ctx.storage.sql.exec("select 1").toArray();
    return "pong";
  }
}
