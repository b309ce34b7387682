/**
 * The domain's errors: what went wrong, in words no protocol owns. The registry, identity, garbage
 * collection and the Durable Objects raise a {@link DomainError}; each surface renders it once, in
 * its own shape (the OCI envelope for /v2 in src/routes/v2/errors.ts, Quay's error JSON for /api/v1
 * in src/routes/api/errors.ts, `{"error"}` for the plain surfaces in src/routes/surfaces.ts), from the
 * error's kind and subject. So the domain never imports a route, and one write serves every surface.
 */

/**
 * What went wrong:
 * - `not_found`: the thing does not exist, or the caller may not know it exists (Quay's NotFound);
 * - `invalid`: the input is malformed or breaks a rule;
 * - `conflict`: the input is fine but the present state refuses it (a name taken, a tag immutable);
 * - `denied`: the caller is known but may not do this;
 * - `unauthorized`: the caller must prove who they are first;
 * - `unsupported`: the registry does not do this;
 * - `too_many_requests`: the caller must wait (Retry-After);
 * - `quota_exceeded`: the namespace's storage quota refuses the write;
 * - `read_only`: the repository's state (READ_ONLY, MIRROR) refuses every write;
 * - `too_large`: a body is larger than the registry accepts;
 * - `range_not_satisfiable`: a byte range does not fit what is stored.
 */
export type DomainErrorKind =
  | "not_found"
  | "invalid"
  | "conflict"
  | "denied"
  | "unauthorized"
  | "unsupported"
  | "too_many_requests"
  | "quota_exceeded"
  | "read_only"
  | "too_large"
  | "range_not_satisfiable";

/**
 * What the error is about, where a surface answers differently per thing (distribution-spec "Error
 * Codes": MANIFEST_UNKNOWN and BLOB_UNKNOWN are both "not found"). `manifest_reference` is a blob
 * or child manifest that a manifest names (MANIFEST_BLOB_UNKNOWN); `page` is a listing's page size.
 */
export type DomainErrorSubject =
  | "manifest"
  | "manifest_reference"
  | "blob"
  | "upload"
  | "repository"
  | "tag"
  | "name"
  | "digest"
  | "size"
  | "page";

export interface DomainErrorOptions {
  subject?: DomainErrorSubject;
  /**
   * The sentence every surface says. Without it each surface says its protocol's own words for the
   * kind (OCI's "manifest unknown to registry", Quay's "Not Found").
   */
  message?: string;
  /** Structured facts for clients that read them: the OCI envelope's `detail`. */
  detail?: unknown;
  /** What the answer must carry besides the body: `Retry-After` (RFC 9110 §10.2.3), an upload's `Range`. */
  headers?: Record<string, string>;
  /** Fields some Quay endpoints add to their error JSON (DataModelException's `message`). */
  fields?: Record<string, unknown>;
}

export class DomainError extends Error {
  readonly subject: DomainErrorSubject | undefined;
  /** The sentence given by whoever raised the error; undefined lets each surface choose its words. */
  readonly ownMessage: string | undefined;
  readonly detail: unknown;
  readonly headers: Record<string, string>;
  readonly fields: Record<string, unknown>;

  constructor(
    readonly kind: DomainErrorKind,
    options: DomainErrorOptions = {},
  ) {
    super(options.message ?? (options.subject ? `${options.subject}: ${kind}` : kind));
    this.name = "DomainError";
    this.subject = options.subject;
    this.ownMessage = options.message;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
  }

  /** The options that rebuild this error (Durable Object RPC keeps only messages: src/errors/outcome.ts). */
  options(): DomainErrorOptions {
    const { subject, ownMessage: message, detail, headers, fields } = this;
    return { subject, message, detail, headers, fields };
  }
}

/** Quay's `NotFound()`: the same answer whether the thing is missing or hidden from the caller. */
export const notFound = (subject?: DomainErrorSubject, detail?: unknown) =>
  new DomainError("not_found", { subject, detail });

/** Quay's `InvalidRequest(message)`: a rule the input breaks. */
export const invalid = (message: string) => new DomainError("invalid", { message });

/** A request the present state refuses, such as a name already taken (Quay answers InvalidRequest). */
export const conflict = (message: string) => new DomainError("conflict", { message });

/** Quay's DataModelException as its API renders it: 400, the message also as `message`. */
export const modelError = (message: string) => new DomainError("invalid", { message, fields: { message } });

const BODY_ENDED_EARLY = "request body ended before its Content-Length";

/**
 * The client's body ended before its Content-Length (it closed the connection or stopped sending):
 * on /v2 400 SIZE_INVALID, "provided length did not match content length". Nothing was committed;
 * the answer reaches a client that only half-closed. `app.onError` logs it as an expected abort.
 */
export function bodyEndedEarly(): DomainError {
  return new DomainError("invalid", {
    subject: "size",
    message: BODY_ENDED_EARLY,
    detail: { reason: BODY_ENDED_EARLY },
  });
}

export function isBodyEndedEarly(err: DomainError): boolean {
  return err.kind === "invalid" && err.subject === "size" && err.ownMessage === BODY_ENDED_EARLY;
}
