/**
 * The /v2 surface's errors: the OCI Distribution error codes (distribution-spec v1.1 "Error
 * Codes", plus the few extra codes the Docker Registry HTTP API V2 defines), each with its HTTP
 * status and the spec's message, and the one mapping from the domain's errors onto them. Routes
 * throw a {@link RegistryError} or a DomainError; `app.onError` renders the spec's envelope
 * `{"errors":[{"code","message","detail"}]}` once, for every route.
 */
import type { DomainError, DomainErrorKind, DomainErrorSubject } from "../../errors/domain";

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
  // distribution's errcode UNAVAILABLE: the registry cannot serve (an invalid configuration).
  UNAVAILABLE: { status: 503, message: "service unavailable" },
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

/** The /v2 surface's error; a DomainError is rendered as one by {@link registryErrorOf}, anything else as UNKNOWN. */
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

interface OciAnswer {
  code: OciErrorCode;
  /** Where the spec asks for another status than the code's: 413 for a body too large, 416 for a chunk. */
  status?: number;
  /** Words of the answer when the domain gives none, where the code's own would mislead. */
  message?: string;
  /**
   * The code's own words even when the domain gives its sentence: that sentence is for the other
   * surfaces, and /v2 has said the spec's words here (the domain's facts still go in `detail`).
   */
  specWords?: true;
}

/**
 * Each kind's code, and per subject where the spec distinguishes (a missing manifest is
 * MANIFEST_UNKNOWN, a missing blob BLOB_UNKNOWN). A kind without a code of its own falls back to
 * the nearest: an invalid request without a subject is UNSUPPORTED 400, as distribution answers a
 * request it cannot read.
 */
export const OCI_ANSWERS: Record<
  DomainErrorKind,
  { otherwise: OciAnswer; bySubject?: Partial<Record<DomainErrorSubject, OciAnswer>> }
> = {
  not_found: {
    otherwise: { code: "NAME_UNKNOWN" },
    bySubject: {
      manifest: { code: "MANIFEST_UNKNOWN" },
      manifest_reference: { code: "MANIFEST_BLOB_UNKNOWN" },
      blob: { code: "BLOB_UNKNOWN" },
      upload: { code: "BLOB_UPLOAD_UNKNOWN" },
    },
  },
  invalid: {
    otherwise: { code: "UNSUPPORTED", status: 400 },
    bySubject: {
      manifest: { code: "MANIFEST_INVALID" },
      upload: { code: "BLOB_UPLOAD_INVALID" },
      name: { code: "NAME_INVALID" },
      repository: { code: "NAME_INVALID" },
      tag: { code: "TAG_INVALID" },
      digest: { code: "DIGEST_INVALID" },
      size: { code: "SIZE_INVALID" },
      page: { code: "PAGINATION_NUMBER_INVALID" },
    },
  },
  conflict: {
    // Distribution and Quay refuse writes to an immutable tag with DENIED, and Quay refuses every
    // blob delete with UNSUPPORTED (here: one a live manifest still needs).
    otherwise: { code: "DENIED" },
    bySubject: {
      upload: { code: "BLOB_UPLOAD_INVALID" },
      blob: { code: "UNSUPPORTED" },
      tag: { code: "DENIED", specWords: true },
    },
  },
  denied: { otherwise: { code: "DENIED" } },
  unauthorized: { otherwise: { code: "UNAUTHORIZED" } },
  unsupported: { otherwise: { code: "UNSUPPORTED" } },
  too_many_requests: { otherwise: { code: "TOOMANYREQUESTS" } },
  // Quay's QuotaExceeded (endpoints/v2/errors.py): DENIED, "Quota has been exceeded on namespace".
  quota_exceeded: { otherwise: { code: "DENIED", message: "Quota has been exceeded on namespace" } },
  // Quay grants no push on a READ_ONLY repository (endpoints/v2/v2auth.py); a token granted
  // before the change meets DENIED with the repository's words.
  read_only: { otherwise: { code: "DENIED" } },
  too_large: { otherwise: { code: "SIZE_INVALID", status: 413 } },
  range_not_satisfiable: {
    otherwise: { code: "RANGE_INVALID" },
    // A chunk that does not continue the upload: 416 with the upload's Range (spec: "Pushing a blob in chunks").
    bySubject: { upload: { code: "BLOB_UPLOAD_INVALID", status: 416 } },
  },
};

/** The /v2 answer to a domain error: the one place the domain's words become OCI codes. */
export function registryErrorOf(err: DomainError): RegistryError {
  const answers = OCI_ANSWERS[err.kind];
  const answer = (err.subject && answers.bySubject?.[err.subject]) || answers.otherwise;
  return new RegistryError(answer.code, err.detail, {
    status: answer.status,
    message: answer.specWords ? OCI_ERRORS[answer.code].message : (err.ownMessage ?? answer.message),
    headers: { ...err.headers },
  });
}
