/**
 * The /api/v1 surface's errors: Quay's API error types (endpoints/api ApiErrorType), each with the
 * status Quay answers with and its default message, and the one mapping from the domain's errors
 * onto them. Routes throw an {@link ApiError} or a DomainError; `app.onError` renders Quay's JSON
 * once: `{"status","error_message","title","error_type","detail","type"}`, where `type` is
 * `<origin>/api/v1/error/<error_type>`, so Quay scripts that read any of these work.
 */
import type { DomainError, DomainErrorKind } from "../../errors/domain";

export const API_ERRORS = {
  invalid_request: { status: 400, message: "Invalid request" },
  invalid_token: { status: 401, message: "Requires authentication" },
  expired_token: { status: 401, message: "Token has expired" },
  fresh_login_required: { status: 401, message: "Requires fresh login" },
  insufficient_scope: { status: 403, message: "Unauthorized" },
  not_found: { status: 404, message: "Not Found" },
  method_not_allowed: { status: 405, message: "Method Not Allowed" },
  // Not in Quay's ApiErrorType: Quay answers too many login attempts with a bare 429 and
  // Retry-After (its TooManyLoginAttemptsException handler); Wharf keeps the API's error JSON.
  too_many_requests: { status: 429, message: "Too many requests" },
  downstream_issue: { status: 520, message: "Downstream issue" },
  // Not in Quay's ApiErrorType: Quay refuses writes to a READ_ONLY or MIRROR repository with a
  // bare 503 `{"error": …}` (its `disallow_for_non_normal_repositories`); Wharf adds its error JSON.
  service_unavailable: { status: 503, message: "Service unavailable" },
  internal_error: { status: 500, message: "Internal error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorType = keyof typeof API_ERRORS;

/** The error of /api/v1 (and /oauth); a DomainError is rendered as one by {@link apiErrorOf}, anything else is internal_error. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly errorType: ApiErrorType,
    message?: string,
    options: { status?: number; headers?: Record<string, string>; fields?: Record<string, unknown> } = {},
  ) {
    super(message ?? API_ERRORS[errorType].message);
    this.name = "ApiError";
    this.status = options.status ?? API_ERRORS[errorType].status;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
  }

  readonly headers: Record<string, string>;
  /** Fields some Quay endpoints add to the error JSON (e.g. `message` for a missing robot). */
  readonly fields: Record<string, unknown>;

  toResponse(origin: string): Response {
    const body = {
      ...this.fields,
      status: this.status,
      error_message: this.message,
      title: this.errorType,
      error_type: this.errorType,
      detail: this.message,
      type: `${origin}/api/v1/error/${this.errorType}`,
    };
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { ...this.headers, "Content-Type": "application/json" },
    });
  }
}

/**
 * Each kind's error type. Quay answers a state that refuses the request (a name taken, an immutable
 * tag) with InvalidRequest like malformed input; a body too large and a byte range that does not fit
 * keep invalid_request with the HTTP status that says why (RFC 9110 §15.5.14, §15.5.17).
 */
export const API_ANSWERS: Record<DomainErrorKind, { type: ApiErrorType; status?: number; message?: string }> = {
  not_found: { type: "not_found" },
  invalid: { type: "invalid_request" },
  conflict: { type: "invalid_request" },
  denied: { type: "insufficient_scope" },
  unauthorized: { type: "invalid_token" },
  unsupported: { type: "method_not_allowed" },
  too_many_requests: { type: "too_many_requests" },
  quota_exceeded: { type: "invalid_request", message: "Quota has been exceeded on namespace" },
  read_only: { type: "service_unavailable" },
  too_large: { type: "invalid_request", status: 413 },
  range_not_satisfiable: { type: "invalid_request", status: 416 },
};

/** The /api/v1 answer to a domain error: the one place the domain's words become Quay's error JSON. */
export function apiErrorOf(err: DomainError): ApiError {
  const answer = API_ANSWERS[err.kind];
  return new ApiError(answer.type, err.ownMessage ?? answer.message, {
    status: answer.status,
    headers: { ...err.headers },
    fields: { ...err.fields },
  });
}
