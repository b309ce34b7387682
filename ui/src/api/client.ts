/**
 * The UI's one way to the registry: `/api/v1` on the same origin, with the session cookie and,
 * on every state-changing request, the session's CSRF token (`GET /csrf_token`, sent back as
 * `X-CSRF-Token`, as Quay's own UI does). Errors carry the API's own message from Quay's error
 * JSON (`error_message`, `message`, `detail` or `error_description`), never a made-up one.
 */

/** A refused or failed request, with the API's status and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = "ApiFailure";
  }
  /** Quay's `error_type` (e.g. `fresh_login_required`), when the body names one. */
  get errorType(): string | undefined {
    const body = this.body as { error_type?: unknown } | null;
    return typeof body?.error_type === "string" ? body.error_type : undefined;
  }
}

let csrfToken: string | null = null;

/** Forgets the CSRF token (after sign-in or sign-out the session changed). */
export function resetCsrf(): void {
  csrfToken = null;
}

async function csrf(): Promise<string | null> {
  if (csrfToken) return csrfToken;
  const res = await fetch("/csrf_token", { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return null;
  const body = (await res.json().catch(() => ({}))) as { csrf_token?: string };
  csrfToken = body.csrf_token ?? null;
  return csrfToken;
}

/**
 * The session's CSRF header, for a state-changing request the UI sends with `fetch` itself (a
 * build's file PUT to the filedrop URL streams the File, which `api()`'s JSON body cannot).
 */
export async function csrfHeaders(): Promise<Record<string, string>> {
  const token = await csrf();
  return token ? { "X-CSRF-Token": token } : {};
}

/** The message a person should read for an error answer. */
export function messageOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const key of ["error_message", "message", "detail", "error_description", "error"]) {
      if (typeof b[key] === "string" && b[key]) return b[key] as string;
    }
    const errors = b.errors as { message?: string }[] | undefined;
    if (Array.isArray(errors) && errors[0]?.message) return errors[0].message;
  }
  if (status === 0) return "The registry could not be reached.";
  return `The registry answered ${status}.`;
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
}

const SAFE = new Set(["GET", "HEAD"]);

/**
 * `method` on `/api/v1{path}`: the parsed JSON answer (null for an empty one), or an ApiFailure.
 * `path` must be built with `encodeURIComponent` for each name part (see `repoPath`).
 */
export async function api<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (!SAFE.has(method)) {
      const token = await csrf();
      if (token) headers["X-CSRF-Token"] = token;
    }
    return fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  };
  let res: Response;
  try {
    res = await send();
    // A stale token (the session was replaced): fetch a fresh one once and try again.
    if (res.status === 403 && !SAFE.has(method) && csrfToken) {
      const text = await res.clone().text();
      if (/CSRF/i.test(text)) {
        csrfToken = null;
        res = await send();
      }
    }
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiFailure(0, messageOf(0, null));
  }
  const text = await res.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) throw new ApiFailure(res.status, messageOf(res.status, body), body);
  return body as T;
}

/** `/repository/{namespace}/{name}` with each segment encoded (names may hold slashes). */
export function repoPath(repository: string): string {
  return `/repository/${repository.split("/").map(encodeURIComponent).join("/")}`;
}

/** A path segment, encoded. */
export const seg = encodeURIComponent;
