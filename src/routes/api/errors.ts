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
  // Retry-After (its TooManyLoginAttemptsException handler); Wharf keeps the API's error JSON, for
  // those and for a spent fair-use budget (src/fairuse/budgets.ts).
  too_many_requests: { status: 429, message: "Too many requests" },
  downstream_issue: { status: 520, message: "Downstream issue" },
  // Not in Quay's ApiErrorType: Quay refuses writes to a READ_ONLY or MIRROR repository with a
  // bare 503 `{"error": …}` (its `disallow_for_non_normal_repositories`); Wharf adds its error JSON.
  service_unavailable: { status: 503, message: "Service unavailable" },
  internal_error: { status: 500, message: "Internal error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorType = keyof typeof API_ERRORS;

/**
 * `GET /api/v1/error/{error_type}` describes each error type an error's `type` URL names
 * (endpoints/api/error.py, `ERROR_DESCRIPTION` in endpoints/exception.py): Quay's sentences for
 * Quay's types, including the three Wharf never answers with (a script may still look them up);
 * Wharf's own for the types Quay lacks.
 */
export const ERROR_DESCRIPTIONS: Record<
  ApiErrorType | "external_service_timeout" | "invalid_response" | "exceeds_license",
  string
> = {
  external_service_timeout: "An external service timed out. Retrying the request may resolve the issue.",
  invalid_request: "The request was invalid. It may have contained invalid values or was improperly formatted.",
  invalid_response: "The response was invalid.",
  invalid_token: "The access token provided was invalid.",
  expired_token: "The access token provided has expired.",
  insufficient_scope: "The access token did not have sufficient scope to access the requested resource.",
  fresh_login_required: "The action requires a fresh login to succeed.",
  exceeds_license: "The action was refused because the current license does not allow it.",
  not_found: "The resource was not found.",
  downstream_issue: "An error occurred in a downstream service.",
  method_not_allowed: "The resource does not support the request's method.",
  too_many_requests:
    "Too many failed logins, or a fair-use budget is spent: wait for the time Retry-After gives before trying again.",
  internal_error: "The registry failed to answer the request. Retrying it may succeed.",
  service_unavailable:
    "The repository or the registry is read-only (a repository state other than NORMAL, or REGISTRY_STATE=readonly), or the registry's configuration is invalid: writes are refused until that changes.",
};

/** Quay's `error_view`: the description of `errorType`, or undefined for a type no one answers with. */
export function errorDescription(errorType: string, origin: string) {
  if (!Object.hasOwn(ERROR_DESCRIPTIONS, errorType)) return undefined;
  return {
    type: `${origin}/api/v1/error/${errorType}`,
    title: errorType,
    description: ERROR_DESCRIPTIONS[errorType as keyof typeof ERROR_DESCRIPTIONS],
  };
}

/** The error of /api/v1 (and /oauth); a DomainError is rendered as one by {@link apiErrorOf}, anything else is internal_error. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly errorType: ApiErrorType,
    message?: string,
    options: {
      status?: number;
      headers?: Record<string, string>;
      fields?: Record<string, unknown>;
      bare?: boolean;
    } = {},
  ) {
    super(message ?? API_ERRORS[errorType].message);
    this.name = "ApiError";
    this.status = options.status ?? API_ERRORS[errorType].status;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
    this.bare = options.bare ?? false;
  }

  /**
   * Quay's refusals through Flask's `abort(status, message)` rather than its ApiException (a bad
   * tag name in endpoints/api/tag.py): Flask-RESTful answers them `{"message": …}` alone.
   */
  readonly bare: boolean;

  readonly headers: Record<string, string>;
  /** Fields some Quay endpoints add to the error JSON (e.g. `message` for a missing robot). */
  readonly fields: Record<string, unknown>;

  toResponse(origin: string): Response {
    const body = this.bare
      ? { message: this.message }
      : {
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
