/**
 * The isolate's side of the fair-use budgets: leases. Asking a key's Durable Object on every
 * request would add a round trip to every pull (issue #20 is about pull speed), so an isolate that
 * keeps asking for the same key is granted a little more than it asked for, and spends that
 * lease here without asking again until it runs out or lapses.
 *
 * - A lease is prepaid: the object took it from the bucket when it granted it. So leases never let
 *   more through than the bucket allows; what they cost is that a lease unused when it lapses
 *   ({@link LEASE_MS}) is lost to the budget until the bucket refills it.
 * - It starts at nothing and doubles each time an isolate spends one within its life, up to
 *   1/{@link LEASE_FRACTION} of the budget: an isolate that serves a key now and then asks every
 *   time and wastes nothing; a busy one asks about once per 1/64 of the budget. So at most
 *   1/64 of a budget per isolate is held unused at a time.
 * - A refusal is remembered here until its Retry-After: a client that keeps knocking costs no
 *   object round trip until then (nor can it overload the key's object).
 */
import type { BucketPolicy } from "./token-bucket";
import type { Dimension } from "../../durable-objects/FairUseDO";
import { clock } from "../lib/clock";

export const LEASE_MS = 10_000;
export const LEASE_FRACTION = 64;
/** Keys kept per isolate; the oldest entries go first beyond it (losing a lease is harmless). */
const MAX_KEYS = 10_000;

export interface Charge {
  /** The budget key: `ns:<namespace>`, `account:<id>`, `ip:<address>`. */
  key: string;
  dimension: Dimension;
  policy: BucketPolicy;
  cost: number;
}

interface Lease {
  remaining: number;
  expiresAt: number;
  /** The extra asked for at the last grant: doubled when that lease is spent within its life. */
  extra: number;
  refusedUntil: number;
}

type FairUseStub = ReturnType<Env["FAIR_USE"]["get"]>;

const leases = new Map<string, Lease>();

/** What charging refused: the longest wait of the keys that refused (ms), and which key. */
export interface Refusal {
  key: string;
  dimension: Dimension;
  retryAfterMs: number;
}

const leaseId = (charge: Charge) => `${charge.dimension}\u0000${charge.key}`;

function leaseOf(id: string): Lease {
  let lease = leases.get(id);
  if (!lease) {
    if (leases.size >= MAX_KEYS) leases.delete(leases.keys().next().value!);
    lease = { remaining: 0, expiresAt: 0, extra: 0, refusedUntil: 0 };
    leases.set(id, lease);
  }
  return lease;
}

/**
 * Charges every one of `charges`, or refuses: a remembered refusal first (nothing is charged),
 * then each key from its lease or, when that is short, from its object (in parallel). Keys
 * charged before another refused keep their charge (the request was made).
 */
export async function chargeAll(env: Env, charges: Charge[]): Promise<Refusal | null> {
  const now = clock.now();
  const known = knownRefusal(charges, now);
  if (known) return known;
  const asks: Promise<Refusal | null>[] = [];
  for (const charge of charges) {
    const lease = leaseOf(leaseId(charge));
    if (lease.expiresAt > now && lease.remaining >= charge.cost) {
      lease.remaining -= charge.cost;
      continue;
    }
    asks.push(ask(env, charge, lease, now));
  }
  if (asks.length === 0) return null;
  const refusals = (await Promise.all(asks)).filter((r): r is Refusal => r !== null);
  if (refusals.length === 0) return null;
  return refusals.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
}

/** The refusal this isolate remembers for one of `charges`, if any (nothing is charged or asked). */
export function knownRefusal(charges: Charge[], now = clock.now()): Refusal | null {
  for (const charge of charges) {
    const lease = leases.get(leaseId(charge));
    if (lease && lease.refusedUntil > now)
      return { key: charge.key, dimension: charge.dimension, retryAfterMs: lease.refusedUntil - now };
  }
  return null;
}

async function ask(env: Env, charge: Charge, lease: Lease, now: number): Promise<Refusal | null> {
  const spentInTime = lease.expiresAt > now;
  const most = Math.floor(charge.policy.capacity / LEASE_FRACTION);
  const extra = spentInTime ? Math.min(most, Math.max(Math.ceil(most / 16), lease.extra * 2)) : 0;
  // What is left of the lease goes toward the cost: it was paid for.
  // Taken from the lease now, so a parallel ask of this isolate does not carry it too.
  const carried = spentInTime ? lease.remaining : 0;
  lease.remaining -= carried;
  const stub: FairUseStub = env.FAIR_USE.get(env.FAIR_USE.idFromName(charge.key));
  const answer = await stub.take(charge.dimension, charge.policy, charge.cost - carried, extra, now);
  if (!answer.admitted) {
    lease.remaining += carried;
    lease.refusedUntil = now + answer.retryAfterMs;
    return { key: charge.key, dimension: charge.dimension, retryAfterMs: answer.retryAfterMs };
  }
  lease.remaining += answer.granted - (charge.cost - carried);
  lease.expiresAt = now + LEASE_MS;
  lease.extra = extra;
  return null;
}

/** Forgets every lease and refusal of this isolate (tests that change budgets between cases). */
export function forgetLeases(): void {
  leases.clear();
}
