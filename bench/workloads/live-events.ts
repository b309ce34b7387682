/**
 * Workload 7 (Wharf only: the reference has no event stream and no notifications). Two figures of
 * issue #15:
 *
 * - The live stream's latency: a subscriber on `GET /api/v1/repository/{repo}/events` (Server-Sent
 *   Events, over Node's fetch), then N tag creations (`PUT /api/v1/repository/{repo}/tag/{tag}`)
 *   one after another; for each, the time from the event's commit (its `at`, the registry's clock,
 *   which is this machine's) to its frame arriving, and from the request's start to it. p50/p95.
 * - A push's time with and without a `repo_push` webhook whose receiver sleeps 10 s (Quay's
 *   NOTIFICATION_SEND_TIMEOUT) before answering: delivery runs on a Queue, so the push must not
 *   wait. The receiver listens on the loopback port `npm run bench` let through
 *   ALLOW_PRIVATE_OUTBOUND; a run without a delivery arriving, or with a push that outlasted the
 *   receiver's sleep, is a problem.
 */
import { createServer, type Server } from "node:http";
import { seedCommands } from "../../test/e2e/helpers/seed-commands";
import { pushImage, tinyImage } from "../lib/registry";
import type { Context, Outcome, Sample, Target, Workload } from "../lib/workload";

const NAMESPACE = "bench";
const REPO = `${NAMESPACE}/live`;
const SLEEP_MS = 10_000;
/** Loopback, but not `127.0.0.1`, which Quay's webhook check refuses by name whatever the guard allows. */
export const HOOK_HOST = "127.0.0.2";
const BOUND_MS = 15_000;

/** The value at quantile `q` (0..1) of `values`, nearest rank. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Frame {
  event?: string;
  data?: any;
  receivedAt: number;
}

/** A Server-Sent Events subscription read with fetch: its frames as they arrive. */
async function subscribe(url: string, token: string) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const receivedAt = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const frame: Frame = { receivedAt };
          for (const line of buffer.slice(0, end).split("\n")) {
            if (line.startsWith("event: ")) frame.event = line.slice(7);
            else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
          }
          buffer = buffer.slice(end + 2);
          frames.push(frame);
        }
        for (const wake of waiters.splice(0)) wake();
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    /** The first frame `match` accepts, waiting at most {@link BOUND_MS}. */
    async find(match: (frame: Frame) => boolean): Promise<Frame> {
      const deadline = Date.now() + BOUND_MS;
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching frame within ${BOUND_MS} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}

export default function liveEvents({ sizes, wharf }: Context): Workload {
  const n = sizes.liveEvents;
  const m = sizes.hookPushes;
  let token = "";
  let digest = "";
  const hits: Array<{ arrivedAt: number; answeredAt?: number }> = [];
  let receiver: Server | null = null;
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };

  return {
    title: `live event stream (${n} tag creations) and a push beside a slow webhook (Wharf only)`,
    wharfOnly: true,
    async seed(target: Target): Promise<Outcome> {
      if (!wharf) throw new Error("the live-events workload needs the Wharf target's credentials");
      const owner = await wharf.credentialsFor(NAMESPACE);
      token = await seedCommands(target.url, () => "").mintToken(owner.username, owner.password, [
        "repo:admin",
        "repo:write",
        "repo:read",
      ]);
      const image = tinyImage();
      await pushImage(target.url, REPO, "base", image);
      digest = image.manifestDigest;
      receiver = createServer((req, res) => {
        const hit: { arrivedAt: number; answeredAt?: number } = { arrivedAt: Date.now() };
        hits.push(hit);
        req.resume();
        setTimeout(() => {
          hit.answeredAt = Date.now();
          res.writeHead(200).end("ok");
        }, SLEEP_MS);
      });
      await new Promise<void>((resolve) => receiver!.listen(wharf.hookPort, HOOK_HOST, resolve));
      return { samples: [] };
    },
    async run(target: Target, round: number): Promise<Outcome> {
      const samples: Sample[] = [];
      const problems: string[] = [];
      const add = (figure: string, unit: string, value: number) =>
        samples.push({ figure, unit, value, better: "lower" });

      const stream = await subscribe(`${target.url}/api/v1/repository/${REPO}/events`, token);
      const fromCommit: number[] = [];
      const fromRequest: number[] = [];
      try {
        // The stream's opening comment: the subscription is in place.
        await stream.find((f) => f.event === undefined);
        for (let i = 0; i < n; i++) {
          const tag = `r${round}-${i}`;
          const started = Date.now();
          await api("PUT", `${target.url}/api/v1/repository/${REPO}/tag/${tag}`, { manifest_digest: digest });
          const frame = await stream.find((f) => f.event === "create_tag" && f.data?.data?.tag === tag);
          fromCommit.push(frame.receivedAt - frame.data.at);
          fromRequest.push(frame.receivedAt - started);
        }
      } finally {
        await stream.close();
      }
      add("stream: event commit to receipt, p50", "ms", quantile(fromCommit, 0.5));
      add("stream: event commit to receipt, p95", "ms", quantile(fromCommit, 0.95));
      add("stream: tag PUT start to receipt, p50", "ms", quantile(fromRequest, 0.5));
      add("stream: tag PUT start to receipt, p95", "ms", quantile(fromRequest, 0.95));

      const pushes = async (label: string) => {
        const times: number[] = [];
        for (let i = 0; i < m; i++) {
          const image = tinyImage();
          const started = performance.now();
          await pushImage(target.url, REPO, `${label}-${round}-${i}`, image);
          times.push(performance.now() - started);
        }
        return times;
      };
      // One push untimed first: the cold paths of a round's first push are no one's figure.
      await pushImage(target.url, REPO, `warm-${round}`, tinyImage());
      const plain = await pushes("plain");
      const { uuid } = await api("POST", `${target.url}/api/v1/repository/${REPO}/notification/`, {
        event: "repo_push",
        method: "webhook",
        config: { url: `http://${HOOK_HOST}:${wharf!.hookPort}/slow` },
        eventConfig: {},
        title: `bench round ${round}`,
      });
      const before = hits.length;
      const pushStarted = Date.now();
      const hooked = await pushes("hooked");
      const pushesEnded = Date.now();
      add("push of a tiny image, no notification, p50", "ms", quantile(plain, 0.5));
      add("push of a tiny image, webhook sleeping 10 s, p50", "ms", quantile(hooked, 0.5));
      add("push of a tiny image, webhook sleeping 10 s, max", "ms", Math.max(...hooked));
      // The deliveries run on the NOTIFICATIONS queue: wait for the first to arrive.
      const deadline = Date.now() + BOUND_MS;
      while (hits.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // Removed only now: deliveries are spawned from the events queue, after the pushes.
      await api("DELETE", `${target.url}/api/v1/repository/${REPO}/notification/${uuid}`);
      if (hits.length === before) problems.push("no webhook delivery arrived within 15 s of the pushes");
      else add("first delivery after the first hooked push started", "ms", hits[before]!.arrivedAt - pushStarted);
      if (pushesEnded - pushStarted >= SLEEP_MS)
        problems.push(`the hooked pushes took ${pushesEnded - pushStarted} ms, longer than the receiver's sleep`);
      return {
        samples,
        requests: 2 * n + 2 * m,
        problems,
        notes: [
          "Wharf only: the reference registry has neither an event stream nor notifications.",
          "Commit to receipt compares the event's `at` (the registry's clock) with this process's clock on the same machine.",
        ],
      };
    },
    async cleanup() {
      receiver?.closeAllConnections();
      receiver?.close();
    },
  };
}
