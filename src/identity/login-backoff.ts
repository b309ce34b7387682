/**
 * The arithmetic of login limits, one counter per key (an account, or a client address), kept by
 * the key's Durable Object (durable-objects/LoginLimiterDO.ts). Plain functions over a plain
 * state, so every rule is testable without an object or a clock.
 *
 * Exponential backoff rather than a lock (as Quay's `verify_user` with `exponential_backoff`):
 * the first `freeFailures` failures cost nothing; from then on each failure makes the key wait
 * 1 s, 2 s, 4 s … up to `maxBackoffMs`, so guessing slows to one try per `maxBackoffMs` while the
 * owner, who knows the password, waits at most that long. A success resets an account.
 */

export interface LoginPolicy {
  /** Failures allowed before the waits begin; 0 turns the limit off. */
  freeFailures: number;
  /** The longest wait, in milliseconds. */
  maxBackoffMs: number;
  /**
   * `account`: attempts in flight count as failures until they end, a success resets the counter
   * and trusts the address it came from. `address`: failures only (see {@link admit}).
   */
  kind: "account" | "address";
}

export interface LimiterState {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
  /** Admitted attempts not yet settled: ticket → when it lapses (a Worker may die mid-attempt). */
  inFlight: Record<string, number>;
  /** Accounts only: client addresses that proved the account, → when they last did. */
  trusted: Record<string, number>;
}

/**
 * `busy`: refused only because the account's free attempts are all in flight, not because it must
 * wait; the caller may ask again as soon as one of them settles (login-limits.ts queues it).
 */
export type Admission =
  | { admitted: true; ticket: string | null }
  | { admitted: false; retryAfterMs: number; busy?: true };

/** The first wait; each further failure doubles it. */
export const BASE_BACKOFF_MS = 1_000;
/** An attempt's ticket lapses after this: verifying takes well under a second. */
export const TICKET_MS = 30_000;
/** Failures are forgotten this long after the last one (and after any wait it caused has passed). */
export const FAILURE_MEMORY_MS = 3_600_000;
/** An address that proved an account is trusted for it this long after its last success. */
export const TRUST_MS = 30 * 86_400_000;
/** Addresses remembered per account; the oldest goes first. */
export const MAX_TRUSTED = 16;

export const emptyState = (): LimiterState => ({
  failures: 0,
  lastFailureAt: 0,
  blockedUntil: 0,
  inFlight: {},
  trusted: {},
});

/** The wait that `failures` failures impose: none below the free ones, then doubling to the cap. */
export function backoffMs(failures: number, policy: LoginPolicy): number {
  if (failures < policy.freeFailures) return 0;
  return Math.min(BASE_BACKOFF_MS * 2 ** (failures - policy.freeFailures), policy.maxBackoffMs);
}

/**
 * Whether an attempt may run now (before any password is hashed), taking a ticket if so.
 * - While a wait runs, nothing is admitted: not even the right password, so a blocked guesser
 *   learns nothing (and costs no PBKDF2).
 * - Accounts count attempts in flight as failures: a thousand parallel guesses cannot all start
 *   before the first failure is recorded. Once the free failures are spent, one attempt at a time.
 * - Addresses admit freely below their free failures (many people share an address; a CI fleet
 *   behind one NAT logs in in parallel), then one attempt at a time, each after its wait.
 * - An address the account trusts (it proved the account within TRUST_MS) skips the account's
 *   wait: someone guessing from elsewhere cannot lock the owner out. Its address limit still holds.
 */
export function admit(state: LimiterState, policy: LoginPolicy, now: number, address: string | null): Admission {
  lapse(state, now);
  if (policy.kind === "account" && address !== null && (state.trusted[address] ?? -Infinity) + TRUST_MS > now) {
    return { admitted: true, ticket: null };
  }
  if (now < state.blockedUntil) return { admitted: false, retryAfterMs: state.blockedUntil - now };
  const inFlight = Object.keys(state.inFlight).length;
  const free =
    state.failures < policy.freeFailures &&
    (policy.kind === "address" || state.failures + inFlight < policy.freeFailures);
  if (!free && inFlight > 0) return { admitted: false, retryAfterMs: BASE_BACKOFF_MS, busy: true };
  const ticket = crypto.randomUUID();
  state.inFlight[ticket] = now + TICKET_MS;
  return { admitted: true, ticket };
}

/** Records a failed attempt; returns the wait it imposes from now (0: none). */
export function recordFailure(state: LimiterState, policy: LoginPolicy, ticket: string | null, now: number): number {
  release(state, ticket);
  state.failures += 1;
  state.lastFailureAt = now;
  const wait = backoffMs(state.failures, policy);
  state.blockedUntil = Math.max(state.blockedUntil, now + wait);
  return Math.max(0, state.blockedUntil - now);
}

/**
 * Records a success. An account starts afresh and trusts `address`; an address keeps its failures
 * (else one valid account would let its holder wipe the failures of guesses at others).
 */
export function recordSuccess(
  state: LimiterState,
  policy: LoginPolicy,
  ticket: string | null,
  now: number,
  address: string | null,
): void {
  release(state, ticket);
  if (policy.kind !== "account") return;
  state.failures = 0;
  state.lastFailureAt = 0;
  state.blockedUntil = 0;
  if (address === null) return;
  delete state.trusted[address];
  state.trusted[address] = now;
  const addresses = Object.keys(state.trusted);
  if (addresses.length > MAX_TRUSTED) delete state.trusted[addresses[0]!];
}

/** Gives a ticket back without an outcome (the attempt was refused by another key, or threw). */
export function release(state: LimiterState, ticket: string | null): void {
  if (ticket !== null) delete state.inFlight[ticket];
}

/** Drops what has lapsed by `now`: tickets, failures past their memory, trusted addresses. */
export function lapse(state: LimiterState, now: number): void {
  for (const [ticket, until] of Object.entries(state.inFlight)) if (until <= now) delete state.inFlight[ticket];
  for (const [address, at] of Object.entries(state.trusted)) if (at + TRUST_MS <= now) delete state.trusted[address];
  if (state.failures > 0 && failuresForgottenAt(state) <= now) {
    state.failures = 0;
    state.lastFailureAt = 0;
    state.blockedUntil = 0;
  }
}

/** When the next part of the state lapses (the object's alarm), or null when it holds nothing. */
export function nextLapse(state: LimiterState): number | null {
  const times = [...Object.values(state.inFlight), ...Object.values(state.trusted).map((at) => at + TRUST_MS)];
  if (state.failures > 0) times.push(failuresForgottenAt(state));
  return times.length === 0 ? null : Math.min(...times);
}

function failuresForgottenAt(state: LimiterState): number {
  return Math.max(state.lastFailureAt, state.blockedUntil) + FAILURE_MEMORY_MS;
}
