/**
 * Quay's API error types (endpoints/api ApiErrorType), each with the status Quay answers with and
 * its default message. Route and domain code throw an {@link ApiError}; `app.onError` renders
 * Quay's JSON once: `{"status","error_message","title","error_type","detail","type"}`, where
 * `type` is `<origin>/api/v1/error/<error_type>`, so Quay scripts that read any of these work.
 */
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
  internal_error: { status: 500, message: "Internal error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorType = keyof typeof API_ERRORS;

/** The one error class of /api/v1 (and /oauth); anything else reaching `onError` is internal_error. */
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

/** Quay's `NotFound()`: the same answer whether the thing is missing or hidden from the caller. */
export const notFound = () => new ApiError("not_found");
/** Quay's `InvalidRequest(message)`. */
export const invalidRequest = (message: string) => new ApiError("invalid_request", message);
