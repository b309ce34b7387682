/**
 * The /api/v1 renderer of domain errors (src/routes/api/errors.ts) and the plain surfaces' one
 * (src/routes/surfaces.ts): each kind becomes exactly Quay's error JSON, status and headers. The
 * expectations are written out here, not read from the mapping table, so a changed table fails.
 */
import { describe, expect, it } from "vitest";
import {
  conflict,
  DomainError,
  type DomainErrorKind,
  type DomainErrorOptions,
  invalid,
  modelError,
  notFound,
} from "../../../src/errors/domain";
import { LoginThrottled } from "../../../src/identity/login-limits";
import { apiErrorOf } from "../../../src/routes/api/errors";
import { plainErrorOf } from "../../../src/routes/surfaces";

const ORIGIN = "https://registry.example";

interface Expected {
  status: number;
  errorType: string;
  message: string;
  fields?: Record<string, unknown>;
  headers?: Record<string, string>;
}

async function expectAnswer(err: DomainError, expected: Expected) {
  const res = apiErrorOf(err).toResponse(ORIGIN);
  expect(res.status).toBe(expected.status);
  expect(Object.fromEntries(res.headers)).toEqual({ "content-type": "application/json", ...expected.headers });
  expect(await res.json()).toEqual({
    ...expected.fields,
    status: expected.status,
    error_message: expected.message,
    title: expected.errorType,
    error_type: expected.errorType,
    detail: expected.message,
    type: `${ORIGIN}/api/v1/error/${expected.errorType}`,
  });
}

/** One case per kind (the Record's type makes a new kind fail to compile until it has one). */
const BY_KIND: Record<DomainErrorKind, [DomainErrorOptions, Expected]> = {
  not_found: [
    { subject: "tag", detail: { tag: "v1" } },
    { status: 404, errorType: "not_found", message: "Not Found" },
  ],
  invalid: [
    { message: "Expiration must be in the future" },
    { status: 400, errorType: "invalid_request", message: "Expiration must be in the future" },
  ],
  conflict: [
    { message: "The username already exists" },
    { status: 400, errorType: "invalid_request", message: "The username already exists" },
  ],
  denied: [{}, { status: 403, errorType: "insufficient_scope", message: "Unauthorized" }],
  unauthorized: [{}, { status: 401, errorType: "invalid_token", message: "Requires authentication" }],
  unsupported: [{}, { status: 405, errorType: "method_not_allowed", message: "Method Not Allowed" }],
  too_many_requests: [
    { headers: { "Retry-After": "9" } },
    { status: 429, errorType: "too_many_requests", message: "Too many requests", headers: { "retry-after": "9" } },
  ],
  quota_exceeded: [{}, { status: 400, errorType: "invalid_request", message: "Quota has been exceeded on namespace" }],
  // Quay's disallow_for_non_normal_repositories: 503 {"error": …}.
  read_only: [
    { message: "Repository is in read only or mirror mode: READ_ONLY", fields: { error: "x" } },
    {
      status: 503,
      errorType: "service_unavailable",
      message: "Repository is in read only or mirror mode: READ_ONLY",
      fields: { error: "x" },
    },
  ],
  too_large: [{ subject: "blob" }, { status: 413, errorType: "invalid_request", message: "Invalid request" }],
  range_not_satisfiable: [{}, { status: 416, errorType: "invalid_request", message: "Invalid request" }],
};

describe("domain errors on /api/v1", () => {
  for (const [kind, [options, expected]] of Object.entries(BY_KIND)) {
    it(`renders ${kind} as ${expected.errorType} ${expected.status}`, async () => {
      await expectAnswer(new DomainError(kind as DomainErrorKind, options), expected);
    });
  }

  it("says Quay's words through the shorthands the domain raises", async () => {
    await expectAnswer(notFound(), { status: 404, errorType: "not_found", message: "Not Found" });
    await expectAnswer(invalid("Invalid method provided"), {
      status: 400,
      errorType: "invalid_request",
      message: "Invalid method provided",
    });
    await expectAnswer(conflict("Existing robot with name: acme+ci"), {
      status: 400,
      errorType: "invalid_request",
      message: "Existing robot with name: acme+ci",
    });
  });

  it("adds a DataModelException's `message` field", async () => {
    await expectAnswer(modelError("Could not find robot with specified username"), {
      status: 400,
      errorType: "invalid_request",
      message: "Could not find robot with specified username",
      fields: { message: "Could not find robot with specified username" },
    });
  });

  it("drops /v2's detail, which Quay's JSON has no place for", async () => {
    await expectAnswer(new DomainError("not_found", { subject: "manifest", detail: { digest: "sha256:ab" } }), {
      status: 404,
      errorType: "not_found",
      message: "Not Found",
    });
  });

  it("renders a refused login as too_many_requests with Retry-After", async () => {
    await expectAnswer(new LoginThrottled(12), {
      status: 429,
      errorType: "too_many_requests",
      message: "Too many failed login attempts",
      headers: { "retry-after": "12" },
    });
  });
});

describe("domain errors on the plain surfaces (/v1, /oauth2)", () => {
  it("renders a refused login as Quay's `abort`: 429, {error}, Retry-After", async () => {
    const res = plainErrorOf(new LoginThrottled(12));
    expect(res.status).toBe(429);
    expect(Object.fromEntries(res.headers)).toEqual({ "content-type": "application/json", "retry-after": "12" });
    expect(await res.json()).toEqual({ error: "Too many failed login attempts" });
  });

  it("answers with the status and words /api/v1 would give", async () => {
    const res = plainErrorOf(notFound());
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "Not Found" });
  });
});
