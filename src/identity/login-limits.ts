/**
 * Login limits for every place a client hands Wharf a password or token to check (/v2/auth Basic,
 * POST /api/v1/signin, POST /oauth/authorizeapp with Basic, /oauth2/federation/robot/token):
 * failed attempts are counted per account and per client address by Durable Objects
 * (durable-objects/LoginLimiterDO.ts, rules in ./login-backoff.ts), and while a key must wait, its
 * logins are refused with {@link LoginThrottled} before anything is verified, so a blocked guesser
 * neither learns whether a guess was right nor costs a PBKDF2.
 *
 * Accounts are counted by the username given, whether or not it exists (else the limit would tell
 * which names do). Only people's accounts are: robot, application and OAuth tokens are 40-64
 * random characters that no one can guess, and counting them per account would let anyone who
 * knows a robot's name lock a CI pipeline out. Every kind counts per address.
 *
 * What a login costs now: a client that proved its credential in this isolate within five minutes,
 * where no failure or refusal of its account or address has been seen since, goes straight to the
 * check (for a password, the recent-match cache of ./credentials.ts: one SHA-256 and an indexed
 * read). Any other login asks the account's and the address's objects in parallel before the
 * check and tells them the outcome after it: two round trips to the objects, plus PBKDF2 for a
 * password. The shortcut is safe: only the right credential takes it, and a guesser who is being
 * refused here has tainted the account in this isolate, so the right password then waits too.
 * A refusal is remembered here until its wait ends, so a guesser who keeps knocking costs neither
 * an object round trip nor CPU beyond one SHA-256 (and cannot overload the key's object).
 */
import { readConfig } from "../config";
import { DomainError } from "../errors/domain";
import { sha256Hex } from "../lib/encoding";
import type { LoginPolicy } from "./login-backoff";
import { clock } from "../lib/clock";

/**
 * A login refused because its account or address must wait `retryAfterSeconds` (Retry-After):
 * every surface answers 429 in its own shape.
 */
export class LoginThrottled extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super("too_many_requests", {
      message: "Too many failed login attempts",
      headers: { "Retry-After": String(retryAfterSeconds) },
    });
    this.name = "LoginThrottled";
  }
}

/** How long an attempt waits for the account's attempts in flight to settle, and how often it asks. */
const QUEUE_MS = 10_000;
const QUEUE_STEP_MS = 50;
/** How long a proof, and a failure seen, shape this isolate's shortcut. */
const RECENT_MS = 5 * 60_000;
const MAX_PROOFS = 1_000;
const MAX_TAINTS = 10_000;
/** Credentials (as SHA-256) that succeeded here recently → until when. */
const proofs = new Map<string, number>();
/** Keys with a failure or refusal seen here recently → until when. */
const taints = new Map<string, number>();
/** Set when taints overflowed: an evicted taint must not reopen the shortcut, so none is taken. */
let noShortcutUntil = 0;
/** Refusals the objects gave, per key and client address → until when the wait runs. */
const refusals = new Map<string, number>();

type LimiterStub = ReturnType<Env["LOGIN_LIMITER"]["get"]>;

interface Key {
  name: string;
  policy: LoginPolicy;
}

export interface LoginAttempt {
  /** The username of a person's account; null for tokens (counted per address only). */
  account: string | null;
  /** What the client presented, as given (only its SHA-256 is kept). */
  credential: string;
}

export class LoginGuard {
  readonly #stubs = new Map<string, LimiterStub>();

  /** `address`: the client's, as src/lib/client-address.ts keys it. */
  constructor(
    private readonly env: Env,
    private readonly address: string,
  ) {}

  /**
   * Runs `verify` (which answers null for wrong credentials) within the limits: throws
   * {@link LoginThrottled} without calling it while the account or the address must wait.
   */
  async attempt<T>(attempt: LoginAttempt, verify: () => Promise<T | null>): Promise<T | null> {
    const keys = this.#keys(attempt.account);
    if (keys.length === 0) return verify();
    const proof = await sha256Hex(`${attempt.account ?? ""}\u0000${attempt.credential}`);
    const now = clock.now();
    if (this.#shortcut(proof, keys, now)) {
      const result = await verify();
      if (result !== null) return result;
      // Proven here before, refused now (a changed password, a revoked token): an ordinary failure.
      proofs.delete(proof);
      await this.#failed(
        keys,
        keys.map(() => null),
      );
      return null;
    }
    const knownWait = Math.max(0, ...keys.map((key) => (refusals.get(this.#refusalKey(key)) ?? 0) - now));
    if (knownWait > 0) throw throttled(knownWait);
    const tickets = await this.#admit(keys, now);
    let result: T | null;
    try {
      result = await verify();
    } catch (err) {
      await this.#release(keys, tickets);
      throw err;
    }
    if (result === null) {
      await this.#failed(keys, tickets);
      return null;
    }
    const settled = clock.now();
    await Promise.all(
      keys.map((key, i) => this.#object(key).succeeded(key.policy, tickets[i] ?? null, settled, this.address)),
    );
    remember(proof, settled);
    return result;
  }

  /**
   * Counts one account creation against the client address (`POST /api/v1/user/`), on a key of its
   * own with the address's policy: LOGIN_FAILURES_PER_IP free, then waits doubling up to
   * LOGIN_BACKOFF_MAX, forgotten an hour after the last. Quay holds mass sign-up back with
   * recaptcha, which Wharf has not; without this one address could create accounts without bound
   * (and probe which names exist). Sign-ups and logins do not spend each other's budget. Throws
   * {@link LoginThrottled} while the address must wait.
   */
  async countSignUp(): Promise<void> {
    const config = readConfig(this.env);
    if (config.LOGIN_FAILURES_PER_IP <= 0) return;
    const key: Key = {
      name: `signup:${this.address}`,
      policy: {
        kind: "address",
        freeFailures: config.LOGIN_FAILURES_PER_IP,
        maxBackoffMs: config.LOGIN_BACKOFF_MAX * 1000,
      },
    };
    const now = clock.now();
    const knownWait = (refusals.get(this.#refusalKey(key)) ?? 0) - now;
    if (knownWait > 0) throw throttled(knownWait);
    const [ticket] = await this.#admit([key], now);
    // Every admitted sign-up is a "failure" of this key: that is what spends its budget.
    await this.#object(key).failed(key.policy, ticket ?? null, clock.now());
  }

  #keys(account: string | null): Key[] {
    const config = readConfig(this.env);
    const maxBackoffMs = config.LOGIN_BACKOFF_MAX * 1000;
    const keys: Key[] = [];
    if (account !== null && config.LOGIN_FAILURES_PER_ACCOUNT > 0) {
      keys.push({
        name: `account:${account}`,
        policy: { kind: "account", freeFailures: config.LOGIN_FAILURES_PER_ACCOUNT, maxBackoffMs },
      });
    }
    if (config.LOGIN_FAILURES_PER_IP > 0) {
      keys.push({
        name: `ip:${this.address}`,
        policy: { kind: "address", freeFailures: config.LOGIN_FAILURES_PER_IP, maxBackoffMs },
      });
    }
    return keys;
  }

  /**
   * Asks every key's object to admit the attempt: its tickets, or LoginThrottled (remembered). An
   * attempt refused only because the account's free attempts are all in flight (a client's
   * parallel first logins: podman, a CI fleet) waits for them to settle, up to {@link QUEUE_MS},
   * rather than being refused: once one succeeds the account trusts the address and the rest go
   * in; once they fail, the account's wait begins and the rest are refused as any guess is.
   */
  async #admit(keys: Key[], now: number): Promise<(string | null)[]> {
    for (let queuedMs = 0; ; queuedMs += QUEUE_STEP_MS) {
      const asked = clock.now();
      const admissions = await Promise.all(keys.map((key) => this.#object(key).admit(key.policy, asked, this.address)));
      const tickets = admissions.map((a) => (a.admitted ? a.ticket : null));
      const refused = admissions.flatMap((a, i) => (a.admitted ? [] : [{ admission: a, key: keys[i]! }]));
      if (refused.length === 0) return tickets;
      await this.#release(keys, tickets);
      if (refused.every((r) => r.admission.busy) && queuedMs < QUEUE_MS) {
        await new Promise((resolve) => setTimeout(resolve, QUEUE_STEP_MS));
        continue;
      }
      for (const { admission, key } of refused)
        bounded(refusals, this.#refusalKey(key), now + admission.retryAfterMs, MAX_TAINTS);
      taint(keys, now);
      throw throttled(Math.max(...refused.map((r) => r.admission.retryAfterMs)));
    }
  }

  /** An account's refusal holds for one client address (another may be trusted); an address's for itself. */
  #refusalKey(key: Key): string {
    return `${key.name}\u0000${this.address}`;
  }

  #shortcut(proof: string, keys: Key[], now: number): boolean {
    if (now < noShortcutUntil || (proofs.get(proof) ?? 0) <= now) return false;
    return keys.every((key) => (taints.get(key.name) ?? 0) <= now);
  }

  async #failed(keys: Key[], tickets: (string | null)[]): Promise<void> {
    const now = clock.now();
    taint(keys, now);
    await Promise.all(keys.map((key, i) => this.#object(key).failed(key.policy, tickets[i] ?? null, now)));
  }

  async #release(keys: Key[], tickets: (string | null)[]): Promise<void> {
    await Promise.all(keys.flatMap((key, i) => (tickets[i] ? [this.#object(key).released(tickets[i])] : [])));
  }

  #object(key: Key): LimiterStub {
    let stub = this.#stubs.get(key.name);
    if (!stub) {
      stub = this.env.LOGIN_LIMITER.get(this.env.LOGIN_LIMITER.idFromName(key.name));
      this.#stubs.set(key.name, stub);
    }
    return stub;
  }
}

const throttled = (waitMs: number) => new LoginThrottled(Math.max(1, Math.ceil(waitMs / 1000)));

/** Sets `key` in `map`, dropping the oldest entry when full; true if one was dropped. */
function bounded(map: Map<string, number>, key: string, until: number, max: number): boolean {
  map.delete(key);
  const evicted = map.size >= max;
  if (evicted) map.delete(map.keys().next().value!);
  map.set(key, until);
  return evicted;
}

function remember(proof: string, now: number): void {
  bounded(proofs, proof, now + RECENT_MS, MAX_PROOFS);
}

function taint(keys: Key[], now: number): void {
  for (const key of keys) {
    if (bounded(taints, key.name, now + RECENT_MS, MAX_TAINTS)) noShortcutUntil = now + RECENT_MS;
  }
}
