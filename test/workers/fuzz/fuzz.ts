/**
 * Property-based fuzzing of the Worker's inputs (issue #19): every request goes through the whole
 * Worker, and every answer must be a success or the surface's own error shape with a 4xx, within a
 * time bound. The number of runs is `base × FUZZ_RUNS` (an environment variable read by
 * vitest.workers.config.mts; 1 in `npm test`), so a long hunt is `FUZZ_RUNS=50 npx vitest run …`.
 */
import { env } from "cloudflare:workers";
import type fc from "fast-check";
import { request } from "../helpers/registry";

/** How many times `npm test`'s runs a property runs (FUZZ_RUNS, a whole number ≥ 1). */
export const MULTIPLIER = Math.max(1, Math.floor(Number((env as unknown as { FUZZ_RUNS?: string }).FUZZ_RUNS) || 1));

/** fast-check's parameters for a property worth `base` runs in `npm test`. */
export function runs(base: number): fc.Parameters<unknown> {
  return { numRuns: base * MULTIPLIER, endOnFailure: false, verbose: 1 };
}

/** A test's time for a property of `base` runs, given how long one run may take. */
export const timeFor = (base: number, perRunMs = 100) => 30_000 + base * MULTIPLIER * perRunMs;

/** The longest any one request may take before the fuzzing calls it a hang. */
const HANG_MS = 10_000;

/**
 * The surfaces of src/routes/surfaces.ts, plus `page`: a browser page (the external login's callback)
 * whose refusal is a small HTML page, as Quay renders its index with the error.
 */
export type Surface = "registry" | "api" | "plain" | "page";

export interface Answer {
  status: number;
  /** The body parsed as JSON, or null when it is not JSON. */
  json: any;
  bytes: Uint8Array;
  headers: Headers;
}

/** An answer read whole as bytes (a blob's body is not text), parsed as JSON where it is JSON. */
async function answerOf(res: Response): Promise<Answer> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: any = null;
  try {
    json = bytes.byteLength > 0 ? JSON.parse(new TextDecoder().decode(bytes)) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, bytes, headers: res.headers };
}

/** A request through the whole Worker, failing as a hang when it takes longer than {@link HANG_MS}. */
export async function bounded(method: string, path: string, init: Parameters<typeof request>[2] = {}): Promise<Answer> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${method} ${path} took over ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([request(method, path, init).then(answerOf), hang]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** Whether the answer is `surface`'s error shape. */
function isErrorShape(surface: Surface, json: any, headers: Headers): boolean {
  if (surface === "page") return (headers.get("Content-Type") ?? "").startsWith("text/html");
  if (json === null || typeof json !== "object") return false;
  if (surface === "registry") {
    return (
      Array.isArray(json.errors) &&
      json.errors.length > 0 &&
      json.errors.every((e: any) => typeof e?.code === "string" && typeof e?.message === "string")
    );
  }
  // Quay's sign-in refusals are `{"invalidCredentials": true, "message": …}` rather than its error JSON.
  if (surface === "api")
    return (
      typeof json.error_type === "string" || typeof json.error_message === "string" || typeof json.message === "string"
    );
  return typeof json.error === "string";
}

/**
 * Throws (failing the property, which fast-check then shrinks) unless `answer` is a success, or a
 * 4xx (or a deliberate 503) in `surface`'s error shape. A HEAD answer carries no body: its status alone counts.
 */
export function expectWellFormed(
  surface: Surface | readonly Surface[],
  method: string,
  path: string,
  answer: Answer,
): void {
  const surfaces: readonly Surface[] = typeof surface === "string" ? [surface] : surface;
  const shaped = () => surfaces.some((one) => isErrorShape(one, answer.json, answer.headers));
  const what = () => `${method} ${path.slice(0, 200)} → ${answer.status} ${JSON.stringify(answer.json)?.slice(0, 300)}`;
  // 503 in the surface's shape is a deliberate answer Quay gives too (a repository in read-only or
  // mirror state: `disallow_for_non_normal_repositories`); any other 5xx is a failure.
  const deliberate = answer.status === 503 && shaped();
  if (answer.status >= 500 && !deliberate) throw new Error(`server error: ${what()}`);
  if (answer.status < 400) return;
  if (method === "HEAD") return;
  // 401 and 405 from /v2 may carry an empty body on HEAD only; every other refusal has its shape.
  if (!shaped()) throw new Error(`not the ${surfaces.join(" or ")} error shape: ${what()}`);
}

/** Checks that `status` is a success or a 4xx and that a /v2 body in error is the OCI envelope. */
export async function fuzzRequest(
  surface: Surface | readonly Surface[],
  method: string,
  path: string,
  init: Parameters<typeof request>[2] = {},
): Promise<Answer> {
  const answer = await bounded(method, path, init);
  expectWellFormed(surface, method, path, answer);
  return answer;
}
