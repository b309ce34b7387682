/**
 * Reading the live event stream (src/routes/api/events.ts) in the workerd tests: an SSE response
 * frame by frame, with a bound on every wait, and a call that may answer with a stream.
 */
import type { Ctx, Answer } from "../authz-matrix-api/harness";
import { request } from "./registry";

export const BOUND_MS = 10_000;

export interface Frame {
  id?: string;
  event?: string;
  data?: any;
}

/** An open SSE response, read frame by frame. */
export class Subscriber {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = "";
  #decoder = new TextDecoder();
  constructor(readonly response: Response) {
    this.#reader = response.body!.getReader();
  }

  /** The next frame that is not a comment, or null when the stream ended; fails after `ms`. */
  async next(ms = BOUND_MS): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const frame: Frame = {};
        for (const line of block.split("\n")) {
          const [field, ...rest] = line.split(": ");
          const value = rest.join(": ");
          if (field === "id") frame.id = value;
          else if (field === "event") frame.event = value;
          else if (field === "data") frame.data = JSON.parse(value);
        }
        if (frame.event !== undefined) return frame;
        continue;
      }
      const wait = deadline - Date.now();
      if (wait <= 0) throw new Error("no event within the bound");
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), wait)),
      ]);
      if (chunk === "timeout") throw new Error("no event within the bound");
      if (chunk.done) return null;
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  /**
   * The next push's frame (null: the stream ended). Other frames are skipped: a permission change a
   * test made just before subscribing may still be on its way.
   */
  async nextPush(ms = BOUND_MS): Promise<Frame | null> {
    for (;;) {
      const frame = await this.next(ms);
      if (frame === null || frame.event === "push_repo") return frame;
    }
  }

  close(): Promise<void> {
    return this.#reader.cancel().catch(() => undefined);
  }
}

/** Polls `condition` until it holds; fails after the bound. */
export async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met within the bound");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A matrix cell's call of a stream route (test/workers/authz-matrix-api/harness.ts): its own fetch,
 * since the harness's call reads the whole body and a stream has no end. An accepted stream is read
 * up to its first comment and closed (`json` null); a refusal is asked again through `ctx.send`, so
 * the harness compares it with the same call on something that does not exist.
 */
export async function streamCell(ctx: Ctx, path: string): Promise<Answer> {
  const res = await request("GET", `/api/v1${path}`, { headers: await ctx.caller.headers("repo:read") });
  if (res.status !== 200) {
    await res.body?.cancel();
    return ctx.send(path);
  }
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  if (!first.includes(": wharf event stream")) throw new Error(`not the stream's opening: ${first}`);
  return { status: res.status, json: null, headers: res.headers };
}
