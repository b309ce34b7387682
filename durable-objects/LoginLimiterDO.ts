/**
 * One Durable Object per login-limit key (`account:<username>` or `ip:<address>`, named by
 * src/identity/login-limits.ts): it serializes the key's attempts, so parallel guesses are counted
 * one by one, and keeps the counter of src/identity/login-backoff.ts in its SQLite storage. An
 * alarm forgets what has lapsed, and the object empties itself once nothing is left. Cloudflare's
 * rate-limiting binding would not do: its periods are fixed and it has no backoff.
 *
 * Time comes from the caller (`now`), so the Worker's clock decides and tests can drive it.
 */
import { DurableObject } from "cloudflare:workers";
import {
  admit,
  emptyState,
  lapse,
  nextLapse,
  recordFailure,
  recordSuccess,
  release,
  type Admission,
  type LimiterState,
  type LoginPolicy,
} from "../src/identity/login-backoff";
import { clock } from "../src/lib/clock";

const STATE_KEY = "state";

export class LoginLimiterDO extends DurableObject<Env> {
  #state: LimiterState = emptyState();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.#state = (await ctx.storage.get<LimiterState>(STATE_KEY)) ?? emptyState();
    });
  }

  /** May an attempt run now? Called before any credential is checked. */
  async admit(policy: LoginPolicy, now: number, address: string | null): Promise<Admission> {
    const admission = admit(this.#state, policy, now, address);
    await this.#save();
    return admission;
  }

  /** The attempt failed; returns the wait now imposed, in milliseconds (0: none). */
  async failed(policy: LoginPolicy, ticket: string | null, now: number): Promise<number> {
    const wait = recordFailure(this.#state, policy, ticket, now);
    await this.#save();
    return wait;
  }

  /** The attempt succeeded. */
  async succeeded(policy: LoginPolicy, ticket: string | null, now: number, address: string | null): Promise<void> {
    recordSuccess(this.#state, policy, ticket, now, address);
    await this.#save();
  }

  /** The attempt ended without an outcome (refused by another key, or an error). */
  async released(ticket: string | null): Promise<void> {
    release(this.#state, ticket);
    await this.#save();
  }

  override async alarm(): Promise<void> {
    lapse(this.#state, clock.now());
    await this.#save();
  }

  /** Writes the state and points the alarm at its next lapse; an empty key leaves nothing stored. */
  async #save(): Promise<void> {
    const next = nextLapse(this.#state);
    if (next === null) {
      this.#state = emptyState();
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.ctx.storage.put(STATE_KEY, this.#state);
    if ((await this.ctx.storage.getAlarm()) !== next) await this.ctx.storage.setAlarm(next);
  }
}
