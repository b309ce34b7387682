/**
 * The token bucket every fair-use budget is (src/fairuse/budgets.ts): it holds at most `capacity`
 * units (requests or bytes) and refills continuously at `capacity` per `periodMs`, so a budget of
 * 600 requests a minute allows a burst of 600 and then 10 a second. A token bucket rather than a
 * fixed window: a fixed window lets a client spend two windows' worth around the boundary, and
 * its Retry-After would be the window's end however little is missing.
 *
 * A charge of `cost` is admitted while the bucket holds `min(cost, capacity)`: a blob larger than
 * the whole hourly budget is still served once the bucket is full, and leaves it in debt (negative)
 * for as long as refilling the rest takes. Nothing else ever takes the bucket below zero.
 */

export interface BucketPolicy {
  /** Units the bucket holds when full, and refills per period. Positive. */
  capacity: number;
  periodMs: number;
}

export interface Bucket {
  tokens: number;
  /** When `tokens` was true (unix ms). */
  at: number;
}

export type Take = { admitted: true; granted: number } | { admitted: false; retryAfterMs: number };

/** The bucket as it is at `now`: refilled since `bucket.at`, never above capacity. */
export function refilled(bucket: Bucket | null, policy: BucketPolicy, now: number): Bucket {
  if (!bucket) return { tokens: policy.capacity, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  const tokens = Math.min(policy.capacity, bucket.tokens + (elapsed * policy.capacity) / policy.periodMs);
  return { tokens, at: Math.max(now, bucket.at) };
}

/**
 * Takes `cost` from the bucket, plus up to `extra` more that is there to take (a lease the caller
 * spends without asking again): the new bucket and what was granted, or the wait until `cost`
 * would be admitted.
 */
export function take(
  bucket: Bucket | null,
  policy: BucketPolicy,
  cost: number,
  extra: number,
  now: number,
): { bucket: Bucket; take: Take } {
  const current = refilled(bucket, policy, now);
  const needed = Math.min(cost, policy.capacity);
  if (current.tokens < needed) {
    const retryAfterMs = Math.ceil(((needed - current.tokens) * policy.periodMs) / policy.capacity);
    return { bucket: current, take: { admitted: false, retryAfterMs: Math.max(1, retryAfterMs) } };
  }
  const lease = Math.max(0, Math.min(extra, Math.floor(current.tokens - cost)));
  const granted = cost + lease;
  return { bucket: { tokens: current.tokens - granted, at: current.at }, take: { admitted: true, granted } };
}

/** When the bucket will be full again (nothing then needs keeping). */
export function fullAt(bucket: Bucket, policy: BucketPolicy): number {
  const missing = policy.capacity - bucket.tokens;
  return bucket.at + Math.ceil((Math.max(0, missing) * policy.periodMs) / policy.capacity);
}
