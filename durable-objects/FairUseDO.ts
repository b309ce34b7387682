/**
 * One Durable Object per fair-use budget key (`ns:<namespace>`, `account:<id>` or `ip:<address>`,
 * named by src/fairuse/budgets.ts): it serializes the key's charges and keeps its token buckets
 * (src/fairuse/token-bucket.ts), one per dimension (requests, pull bytes), in its SQLite storage.
 * The policy comes with each call, so a changed default or a superuser's override applies at the
 * next charge without telling the object. An alarm set for when every bucket is full again empties
 * the object: a full bucket is what an absent one means.
 *
 * Time comes from the caller (`now`), so the Worker's clock decides and tests can drive it.
 */
import { DurableObject } from "cloudflare:workers";
import { type Bucket, type BucketPolicy, fullAt, take, type Take } from "../src/fairuse/token-bucket";

export type Dimension = "requests" | "bytes";

export class FairUseDO extends DurableObject<Env> {
  /**
   * Charges `cost` to the `dimension` bucket under `policy`, granting up to `extra` more as a lease
   * the caller spends locally: what was granted, or how long until `cost` would be admitted.
   */
  async take(dimension: Dimension, policy: BucketPolicy, cost: number, extra: number, now: number): Promise<Take> {
    const stored = (await this.ctx.storage.get<Bucket>(dimension)) ?? null;
    const result = take(stored, policy, cost, extra, now);
    if (result.take.admitted) await this.#save(dimension, result.bucket, policy);
    return result.take;
  }

  /** The bucket as stored (tests and operators' inspection); null when full (nothing stored). */
  async bucket(dimension: Dimension): Promise<Bucket | null> {
    return (await this.ctx.storage.get<Bucket>(dimension)) ?? null;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** Stores the bucket and moves the alarm to when every bucket of the key is full again. */
  async #save(dimension: Dimension, bucket: Bucket, policy: BucketPolicy): Promise<void> {
    await this.ctx.storage.put(dimension, bucket);
    const full = fullAt(bucket, policy);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm < full) await this.ctx.storage.setAlarm(full);
  }
}
