/**
 * The one clock everything time-based reads: tag lifetimes and expirations, upload expiry, garbage
 * collection's grace and windows, login backoff, token lifetimes (registry tokens, and jose's
 * `exp`/`iat`/`nbf` checks through its `currentDate`), sessions, OAuth and application tokens,
 * caches with a time to live, Durable Object alarms.
 *
 * In production it is `Date.now()`. The workerd tests replace its source
 * (test/workers/helpers/clock.ts) to move time forward instead of sleeping: the Worker, its
 * Durable Objects and the tests share one isolate there, so they all see the replaced source.
 *
 * What it does not reach: timestamps the storage writes itself (D1 column defaults, R2's
 * `uploaded`), the Cron Trigger's `scheduledTime`, and timers (`setTimeout`), which wait real time.
 */

/** Milliseconds since the Unix epoch, as `Date.now()` counts them. */
export type TimeSource = () => number;

const systemTime: TimeSource = () => Date.now();
let source: TimeSource = systemTime;

export const clock = {
  /** Milliseconds since the Unix epoch. */
  now: (): number => source(),
  /** The current time as a Date (jose's `currentDate`). */
  date: (): Date => new Date(source()),
};

/** Makes `next` the clock's source; null restores the system time. For tests. */
export function useTimeSource(next: TimeSource | null): void {
  source = next ?? systemTime;
}
