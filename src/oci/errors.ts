/**
 * The OCI Distribution error codes (distribution-spec v1.1 "Error Codes", plus the few extra codes
 * the Docker Registry HTTP API V2 defines), each with its HTTP status and the spec's message.
 * Domain code throws a {@link RegistryError}; `app.onError` renders the spec's envelope
 * `{"errors":[{"code","message","detail"}]}` once, for every route.
 */
export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  // 400, as distribution and Quay answer (the spec's table leaves the status open).
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "manifest references a manifest or blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  // Docker Registry HTTP API V2 codes that the OCI table does not carry.
  TAG_INVALID: { status: 400, message: "manifest tag did not match URI" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  RANGE_INVALID: { status: 416, message: "invalid content range" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export interface RegistryErrorOptions {
  /** Overrides the code's default status where the spec asks for another (413, 416). */
  status?: number;
  /** Headers the answer must carry, such as `Range` on a 416 for an upload. */
  headers?: Record<string, string>;
  message?: string;
}

/** The one error class of the /v2 surface; anything else reaching `onError` becomes UNKNOWN. */
export class RegistryError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: OciErrorCode,
    readonly detail?: unknown,
    options: RegistryErrorOptions = {},
  ) {
    super(options.message ?? OCI_ERRORS[code].message);
    this.name = "RegistryError";
    this.status = options.status ?? OCI_ERRORS[code].status;
    this.headers = options.headers ?? {};
  }

  /** The spec's JSON envelope, as a Response. HEAD answers carry no body (RFC 9110 §9.3.2). */
  toResponse(method = "GET"): Response {
    const headers = new Headers(this.headers);
    if (method === "HEAD") return new Response(null, { status: this.status, headers });
    headers.set("Content-Type", "application/json");
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) error.detail = this.detail;
    return new Response(JSON.stringify({ errors: [error] }), { status: this.status, headers });
  }
}

const BODY_ENDED_EARLY = "request body ended before its Content-Length";

/**
 * The client's body ended before its Content-Length (it closed the connection or stopped sending):
 * 400 SIZE_INVALID, "provided length did not match content length". Nothing was committed; the
 * answer reaches a client that only half-closed. `app.onError` logs it as an expected abort.
 */
export function bodyEndedEarly(): RegistryError {
  return new RegistryError("SIZE_INVALID", { reason: BODY_ENDED_EARLY }, { message: BODY_ENDED_EARLY });
}

export function isBodyEndedEarly(err: RegistryError): boolean {
  return err.code === "SIZE_INVALID" && err.message === BODY_ENDED_EARLY;
}
