/**
 * Moves the Worker's clock (src/lib/clock.ts) in the workerd tests, so they see time pass without
 * sleeping. The Worker, its Durable Objects and the tests run in one isolate and share one module
 * graph (test/workers/clock.test.ts checks it), so a moved clock reaches all of them. Every test
 * starts on the system time again (test/workers/setup.ts resets it after each test).
 *
 * Only forward: an object's alarm set from a clock turned back would lie in the past, and workerd
 * runs such an alarm at once.
 */
import { clock, useTimeSource } from "../../../src/lib/clock";

/** Shift over the system time while running; the reading while frozen. */
let offsetMs = 0;
let frozenAt: number | null = null;

function install(): void {
  useTimeSource(frozenAt !== null ? () => frozenAt! : () => Date.now() + offsetMs);
}

/** Moves the clock `ms` milliseconds forward (it keeps running unless frozen). */
export function advanceClock(ms: number): void {
  if (!(ms >= 0)) throw new RangeError(`the clock only moves forward (asked ${ms} ms)`);
  if (frozenAt !== null) frozenAt += ms;
  else offsetMs += ms;
  install();
}

/**
 * Stops the clock at `at` (its current reading unless given; never behind it): only
 * {@link advanceClock} moves it until the reset. Returns the reading.
 */
export function freezeClock(at = clock.now()): number {
  if (!(at >= clock.now())) throw new RangeError(`the clock only moves forward (asked ${at}, it reads ${clock.now()})`);
  frozenAt = at;
  install();
  return frozenAt;
}

/** Back to the system time. */
export function resetClock(): void {
  offsetMs = 0;
  frozenAt = null;
  useTimeSource(null);
}
