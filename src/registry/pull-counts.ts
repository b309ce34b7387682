/**
 * Pulls, counted once and one way. Every manifest GET that answers 200 is recorded here, and
 * everything that will read pulls (pull statistics, pull_repo action logs, a proxy cache's
 * least-recently-pulled order, shared-link accounting) reads what this produces (the fair-use
 * budgets cannot: they must refuse before answering, so src/fairuse/ charges on the request path): one record per pull, on the EVENTS queue (src/queues/pull-statistics.ts sums them
 * into D1). A pull itself writes nothing to D1 and calls no Durable Object: records wait in the
 * isolate and leave in batches, through `waitUntil`, after the response.
 *
 * What it may lose: the records still waiting when an isolate dies abruptly (evicted, crashed,
 * redeployed): at most {@link FLUSH_AT_PULLS} pulls, from at most the last
 * {@link FLUSH_AFTER_MS} ms of that isolate's traffic. While the queue refuses sends, unsent
 * pulls wait for the next flush, up to MAX_WAITING, beyond which the oldest are dropped (logged).
 * That is acceptable for what reads it: statistics and orderings that a few missing pulls do not
 * change, and a log of reads, not of changes (changes are registry events, which must not be
 * lost). The consumer may also count a batch twice when the queue redelivers it (at-least-once
 * delivery). The price of exactness would be a D1 write or a Durable Object call per pull, which
 * the read path must not pay (ARCHITECTURE.md "The read path at the edge").
 */
import { z } from "zod";
import type { TokenSubject } from "../identity/registry-tokens";
import { parseRobotName } from "../identity/robots";
import { namespaceOf } from "./repository-name";
import { clock } from "../lib/clock";
import { USER_AGENT_CHARS } from "../lib/client-address";
import { loggableError } from "../lib/loggable-error";
import { metrics } from "../metrics/recorder";

/** A batch leaves once this many pulls wait. */
export const FLUSH_AT_PULLS = 100;
/** …or once the oldest has waited this long. */
export const FLUSH_AFTER_MS = 10_000;
/**
 * A queue message holds pulls up to this many bytes of JSON: a queue operation is billed per
 * 64 KB, and a message may hold 128 KB. sendBatch takes at most 100 messages and 256 KB a call.
 */
const MESSAGE_BYTES = 64 * 1024;
const MESSAGES_PER_SEND = 3;
/** Records kept for another try after a failed send, beyond which the oldest are dropped. */
const MAX_WAITING = 10 * FLUSH_AT_PULLS;

export const pullRecordSchema = z.object({
  repositoryId: z.number().int(),
  repository: z.string(),
  namespace: z.string(),
  /** The manifest served (after content negotiation). */
  digest: z.string(),
  /** The tag the client asked for; null for a pull by digest. */
  tag: z.string().nullable(),
  actor: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("anonymous") }),
    z.object({ kind: z.enum(["user", "robot"]), name: z.string(), id: z.number().int() }),
  ]),
  /** `CF-Connecting-IP` as sent to the Worker; null locally, where there is none. */
  clientIp: z.string().nullable(),
  /** When the pull was answered (unix ms). */
  at: z.number().int(),
  /** The client's `User-Agent`, at most 256 characters; absent when none was sent (or queued before it was kept). */
  userAgent: z.string().max(256).optional(),
});

export type PullRecord = z.infer<typeof pullRecordSchema>;

/** The EVENTS queue message carrying pulls: a type of its own beside the registry events. */
export const pullsMessageSchema = z.object({ type: z.literal("pulls"), pulls: z.array(pullRecordSchema).min(1) });

export type PullsMessage = z.infer<typeof pullsMessageSchema>;

export interface PullCounterOptions {
  flushAtPulls: number;
  flushAfterMs: number;
  now: () => number;
  /** Resolves after `ms`: a flush waits on it, inside the `waitUntil` of the request that armed it. */
  sleep: (ms: number) => Promise<void>;
}

interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

const defaults: PullCounterOptions = {
  flushAtPulls: FLUSH_AT_PULLS,
  flushAfterMs: FLUSH_AFTER_MS,
  now: () => clock.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * The per-isolate buffer of pulls. A record is sent with the batch it joined: at once when the
 * batch is full or its oldest record is old, else when the timer the batch's first record armed
 * goes off (at most `flushAfterMs` later, so a quiet isolate holds nothing for long).
 */
export class PullCounter {
  readonly #options: PullCounterOptions;
  #waiting: PullRecord[] = [];
  #oldestAt = 0;
  /** When a timed flush was armed, or null when none is pending. */
  #armedAt: number | null = null;

  constructor(
    private readonly queue: Queue,
    options: Partial<PullCounterOptions> = {},
  ) {
    this.#options = { ...defaults, ...options };
  }

  /** Records a pull; what must leave now leaves through `ctx.waitUntil`, after the response. */
  record(ctx: WaitUntil, pull: PullRecord): void {
    const { flushAtPulls, flushAfterMs, now, sleep } = this.#options;
    const at = now();
    if (this.#waiting.length === 0) this.#oldestAt = at;
    this.#waiting.push(pull);
    if (this.#waiting.length >= flushAtPulls || at - this.#oldestAt >= flushAfterMs) {
      ctx.waitUntil(this.flush());
      return;
    }
    // A timer whose request was cut short never fires: after twice its time, arm another.
    if (this.#armedAt === null || at - this.#armedAt > 2 * flushAfterMs) {
      this.#armedAt = at;
      ctx.waitUntil(
        sleep(flushAfterMs).then(() => {
          this.#armedAt = null;
          return this.flush();
        }),
      );
    }
  }

  /** How many pulls wait in this isolate. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Sends every waiting pull. A failed send keeps them for the next flush (at most MAX_WAITING). */
  async flush(): Promise<void> {
    const pulls = this.#waiting;
    if (pulls.length === 0) return;
    const oldestAt = this.#oldestAt;
    this.#waiting = [];
    const messages = packMessages(pulls);
    for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND) {
      const batch = messages.slice(i, i + MESSAGES_PER_SEND);
      try {
        await this.queue.sendBatch(batch.map((body) => ({ body })));
      } catch (err) {
        const unsent = batch.concat(messages.slice(i + MESSAGES_PER_SEND)).flatMap((m) => m.pulls);
        this.#keep(unsent, oldestAt, err);
        return;
      }
    }
  }

  /** Puts unsent pulls back before those recorded since, so the next record or timer sends them again. */
  #keep(unsent: PullRecord[], oldestAt: number, err: unknown): void {
    this.#oldestAt = this.#waiting.length > 0 ? Math.min(oldestAt, this.#oldestAt) : oldestAt;
    const kept = [...unsent, ...this.#waiting];
    const dropped = Math.max(0, kept.length - MAX_WAITING);
    this.#waiting = kept.slice(dropped);
    console.error(
      JSON.stringify({ msg: "pulls not queued", kept: this.#waiting.length, dropped, err: loggableError(err) }),
    );
  }
}

/** Pulls in messages of at most {@link MESSAGE_BYTES} of JSON each, in order. */
export function packMessages(pulls: PullRecord[]): PullsMessage[] {
  const messages: PullsMessage[] = [];
  let current: PullRecord[] = [];
  let bytes = 0;
  for (const pull of pulls) {
    const size = JSON.stringify(pull).length + 1;
    if (current.length > 0 && bytes + size > MESSAGE_BYTES) {
      messages.push({ type: "pulls", pulls: current });
      current = [];
      bytes = 0;
    }
    current.push(pull);
    bytes += size;
  }
  if (current.length > 0) messages.push({ type: "pulls", pulls: current });
  return messages;
}

/** One counter per queue binding and isolate, as src/db/client.ts keeps one client per D1 binding. */
const counters = new WeakMap<Queue, PullCounter>();

export function pullCounter(queue: Queue): PullCounter {
  let counter = counters.get(queue);
  if (!counter) {
    counter = new PullCounter(queue);
    counters.set(queue, counter);
  }
  return counter;
}

export interface Pull {
  repository: { id: number; name: string };
  digest: string;
  tag: string | null;
  actor: TokenSubject;
  clientIp: string | null;
  /** The client's `User-Agent` (src/lib/client-address.ts `userAgentOf`), null when none. */
  userAgent: string | null;
}

/** Counts one pull (a manifest GET answered 200) on the isolate's counter for `env`'s EVENTS queue. */
export function countPull(env: Env, ctx: WaitUntil, pull: Pull): void {
  const { actor } = pull;
  // Quay's image_pulls (endpoints/v2/manifest.py): by tag, or by digest (`manifest`). Exact, unlike
  // the records below (see the module comment): src/metrics/recorder.ts.
  metrics.count("quay_registry_image_pulls_total", {
    protocol: "v2",
    ref: pull.tag === null ? "manifest" : "tag",
    status: "200",
  });
  pullCounter(env.EVENTS).record(ctx, {
    repositoryId: pull.repository.id,
    repository: pull.repository.name,
    namespace: namespaceOf(pull.repository.name),
    digest: pull.digest,
    tag: pull.tag,
    // A build's `$build` pulls (its base images) are no account's: counted as anonymous ones.
    actor:
      actor.kind !== "user"
        ? { kind: "anonymous" }
        : { kind: parseRobotName(actor.name) ? "robot" : "user", name: actor.name, id: actor.id },
    // The header is what Cloudflare sets; anything longer than an address is no address.
    clientIp: pull.clientIp?.slice(0, 64) ?? null,
    at: clock.now(),
    ...(pull.userAgent === null ? {} : { userAgent: pull.userAgent.slice(0, USER_AGENT_CHARS) }),
  });
}
