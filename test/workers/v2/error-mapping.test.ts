/**
 * The /v2 renderer of domain errors (src/routes/v2/errors.ts): each kind, and each subject the
 * spec tells apart, becomes exactly the OCI envelope, status and headers /v2 answers with. The
 * expectations are written out here, not read from the mapping table, so a changed table fails.
 */
import { describe, expect, it } from "vitest";
import { DomainError, type DomainErrorKind, type DomainErrorOptions } from "../../../src/errors/domain";
import { capture, unwrap } from "../../../src/errors/outcome";
import { LoginThrottled } from "../../../src/identity/login-limits";
import { registryErrorOf } from "../../../src/routes/v2/errors";

interface Expected {
  status: number;
  body: { code: string; message: string; detail?: unknown };
  headers?: Record<string, string>;
}

async function answerTo(err: DomainError, method = "GET") {
  const res = registryErrorOf(err).toResponse(method);
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

async function expectAnswer(err: DomainError, expected: Expected) {
  const answer = await answerTo(err);
  expect(answer.status).toBe(expected.status);
  expect(JSON.parse(answer.text)).toEqual({ errors: [expected.body] });
  expect(answer.headers).toEqual({ "content-type": "application/json", ...expected.headers });
}

/** One case per kind (the Record's type makes a new kind fail to compile until it has one). */
const BY_KIND: Record<DomainErrorKind, [DomainErrorOptions, Expected]> = {
  not_found: [
    { subject: "manifest", detail: { tag: "v1" } },
    { status: 404, body: { code: "MANIFEST_UNKNOWN", message: "manifest unknown to registry", detail: { tag: "v1" } } },
  ],
  invalid: [
    { subject: "manifest", detail: { reason: "manifest is not a JSON object" } },
    {
      status: 400,
      body: {
        code: "MANIFEST_INVALID",
        message: "manifest invalid",
        detail: { reason: "manifest is not a JSON object" },
      },
    },
  ],
  conflict: [
    { subject: "tag", detail: { tag: "v1", reason: "the tag is immutable" } },
    {
      status: 403,
      body: {
        code: "DENIED",
        message: "requested access to the resource is denied",
        detail: { tag: "v1", reason: "the tag is immutable" },
      },
    },
  ],
  denied: [
    { detail: { name: "acme/app" } },
    {
      status: 403,
      body: { code: "DENIED", message: "requested access to the resource is denied", detail: { name: "acme/app" } },
    },
  ],
  unauthorized: [{}, { status: 401, body: { code: "UNAUTHORIZED", message: "authentication required" } }],
  unsupported: [{}, { status: 405, body: { code: "UNSUPPORTED", message: "the operation is unsupported" } }],
  too_many_requests: [
    { message: "slow down", headers: { "Retry-After": "30" } },
    { status: 429, body: { code: "TOOMANYREQUESTS", message: "slow down" }, headers: { "retry-after": "30" } },
  ],
  quota_exceeded: [{}, { status: 403, body: { code: "DENIED", message: "Quota has been exceeded on namespace" } }],
  read_only: [
    { message: "Repository is in read only or mirror mode: READ_ONLY" },
    { status: 403, body: { code: "DENIED", message: "Repository is in read only or mirror mode: READ_ONLY" } },
  ],
  too_large: [
    { subject: "blob", message: "blob too large", detail: { limit: 10 } },
    { status: 413, body: { code: "SIZE_INVALID", message: "blob too large", detail: { limit: 10 } } },
  ],
  range_not_satisfiable: [{}, { status: 416, body: { code: "RANGE_INVALID", message: "invalid content range" } }],
};

/** Subjects the spec answers with codes of their own. */
const BY_SUBJECT: [DomainErrorKind, DomainErrorOptions, Expected][] = [
  [
    "not_found",
    { subject: "manifest_reference", detail: { digest: "sha256:ab" } },
    {
      status: 400,
      body: {
        code: "MANIFEST_BLOB_UNKNOWN",
        message: "manifest references a manifest or blob unknown to registry",
        detail: { digest: "sha256:ab" },
      },
    },
  ],
  [
    "not_found",
    { subject: "blob" },
    { status: 404, body: { code: "BLOB_UNKNOWN", message: "blob unknown to registry" } },
  ],
  [
    "not_found",
    { subject: "upload" },
    { status: 404, body: { code: "BLOB_UPLOAD_UNKNOWN", message: "blob upload unknown to registry" } },
  ],
  [
    "not_found",
    { subject: "repository", detail: { name: "a/b" } },
    {
      status: 404,
      body: { code: "NAME_UNKNOWN", message: "repository name not known to registry", detail: { name: "a/b" } },
    },
  ],
  ["not_found", {}, { status: 404, body: { code: "NAME_UNKNOWN", message: "repository name not known to registry" } }],
  [
    "invalid",
    { subject: "digest", detail: { digest: "sha256:ab" } },
    {
      status: 400,
      body: {
        code: "DIGEST_INVALID",
        message: "provided digest did not match uploaded content",
        detail: { digest: "sha256:ab" },
      },
    },
  ],
  [
    "invalid",
    { subject: "size" },
    { status: 400, body: { code: "SIZE_INVALID", message: "provided length did not match content length" } },
  ],
  [
    "invalid",
    { subject: "name", message: 'invalid repository name: "build" is reserved', detail: { name: "a/build" } },
    {
      status: 400,
      body: {
        code: "NAME_INVALID",
        message: 'invalid repository name: "build" is reserved',
        detail: { name: "a/build" },
      },
    },
  ],
  [
    "invalid",
    { subject: "repository" },
    { status: 400, body: { code: "NAME_INVALID", message: "invalid repository name" } },
  ],
  [
    "invalid",
    { subject: "tag" },
    { status: 400, body: { code: "TAG_INVALID", message: "manifest tag did not match URI" } },
  ],
  [
    "invalid",
    { subject: "upload" },
    { status: 400, body: { code: "BLOB_UPLOAD_INVALID", message: "blob upload invalid" } },
  ],
  [
    "invalid",
    { subject: "page" },
    { status: 400, body: { code: "PAGINATION_NUMBER_INVALID", message: "invalid number of results requested" } },
  ],
  [
    "invalid",
    { message: "Expiration must be in the future" },
    { status: 400, body: { code: "UNSUPPORTED", message: "Expiration must be in the future" } },
  ],
  [
    "conflict",
    { subject: "upload", detail: { reason: "upload already closed with another digest" } },
    {
      status: 400,
      body: {
        code: "BLOB_UPLOAD_INVALID",
        message: "blob upload invalid",
        detail: { reason: "upload already closed with another digest" },
      },
    },
  ],
  [
    // An immutable tag (src/registry/tag-writes.ts immutableTag): the sentence is the API's; /v2
    // keeps the spec's words, the facts in detail.
    "conflict",
    { subject: "tag", message: "Tag v1 is immutable: …", detail: { tag: "v1", reason: "the tag is immutable" } },
    {
      status: 403,
      body: {
        code: "DENIED",
        message: "requested access to the resource is denied",
        detail: { tag: "v1", reason: "the tag is immutable" },
      },
    },
  ],
  [
    "conflict",
    { subject: "blob", message: "blob is referenced by manifest; delete that manifest first" },
    {
      status: 405,
      body: { code: "UNSUPPORTED", message: "blob is referenced by manifest; delete that manifest first" },
    },
  ],
  [
    "range_not_satisfiable",
    { subject: "upload", detail: { reason: "chunk out of order" }, headers: { Range: "0-9" } },
    {
      status: 416,
      body: { code: "BLOB_UPLOAD_INVALID", message: "blob upload invalid", detail: { reason: "chunk out of order" } },
      headers: { range: "0-9" },
    },
  ],
];

describe("domain errors on /v2", () => {
  for (const [kind, [options, expected]] of Object.entries(BY_KIND)) {
    it(`renders ${kind} as ${expected.body.code} ${expected.status}`, async () => {
      await expectAnswer(new DomainError(kind as DomainErrorKind, options), expected);
    });
  }

  for (const [kind, options, expected] of BY_SUBJECT) {
    it(`renders ${kind} of ${options.subject ?? "no subject"} as ${expected.body.code} ${expected.status}`, async () => {
      await expectAnswer(new DomainError(kind, options), expected);
    });
  }

  it("drops Quay's extra fields, which /v2 has no place for", async () => {
    const err = new DomainError("invalid", { subject: "tag", message: "bad", fields: { message: "bad" } });
    await expectAnswer(err, { status: 400, body: { code: "TAG_INVALID", message: "bad" } });
  });

  it("answers HEAD with the status and headers only (RFC 9110 §9.3.2)", async () => {
    const answer = await answerTo(new LoginThrottled(7), "HEAD");
    expect(answer).toEqual({ status: 429, headers: { "retry-after": "7" }, text: "" });
  });

  it("renders a refused login as TOOMANYREQUESTS with Retry-After", async () => {
    await expectAnswer(new LoginThrottled(12), {
      status: 429,
      body: { code: "TOOMANYREQUESTS", message: "Too many failed login attempts" },
      headers: { "retry-after": "12" },
    });
  });

  it("answers the same after a Durable Object boundary, which keeps only plain data", async () => {
    const thrown = new DomainError("range_not_satisfiable", {
      subject: "upload",
      message: "chunk out of order",
      detail: { expectedStart: 5 },
      headers: { Range: "0-4" },
      fields: { message: "chunk out of order" },
    });
    const outcome = structuredClone(
      await capture(async () => {
        throw thrown;
      }),
    );
    let rebuilt: unknown;
    try {
      unwrap(outcome);
    } catch (err) {
      rebuilt = err;
    }
    expect(rebuilt).toBeInstanceOf(DomainError);
    const again = rebuilt as DomainError;
    expect([again.kind, again.options()]).toEqual([thrown.kind, thrown.options()]);
    expect(await answerTo(again)).toEqual(await answerTo(thrown));
  });

  it("lets other errors through capture untouched", async () => {
    await expect(
      capture(async () => {
        throw new TypeError("a bug");
      }),
    ).rejects.toThrow(TypeError);
  });
});
