/**
 * Differential test, blobs and uploads: the same raw HTTP flows against distribution 2.8
 * (Debian's docker-registry, the reference implementation) and Wharf, comparing status codes,
 * the headers the OCI distribution spec defines and the OCI error codes. Each allowed
 * difference cites the spec (distribution-spec v1.1 unless noted); where distribution and the
 * spec disagree, the spec decides what Wharf must do. Manifests, tags and names:
 * differential-manifests.test.ts.
 */
import { expect } from "vitest";
import {
  describeDifferential,
  pushBlob,
  sha256,
  withQuery,
  type Flow,
  type Session,
  type View,
} from "./helpers/differential";

const octets = { "Content-Type": "application/octet-stream" };
const blobPath = (s: Session, digest: string) => `/v2/${s.repo}/blobs/${digest}`;
const uploadsPath = (s: Session) => `/v2/${s.repo}/blobs/uploads/`;

/** A 201 for a finished blob: Location is the blob's path, Docker-Content-Digest its digest. */
function expectBlobCreated(view: View): void {
  expect(view.status).toBe(201);
  expect(view.dockerContentDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
  expect(view.location).toMatch(new RegExp(`/blobs/${view.dockerContentDigest}$`));
}

/** A 202 that opened an upload session: Location of the session and its Docker-Upload-UUID. */
function expectSessionOpened(view: View): void {
  expect(view.status).toBe(202);
  expect(view.location).toMatch(/\/blobs\/uploads\/<uuid>$/);
  expect(view.uploadUuid).toBe(true);
}

const flows: Flow[] = [
  {
    name: "API version check",
    run: async (s) => {
      await s.send("GET /v2/", "GET", "/v2/");
    },
  },
  {
    name: "monolithic single POST",
    run: async (s) => {
      const bytes = s.bytes("single-post");
      const digest = sha256(bytes);
      const post = await s.send("POST ?digest=", "POST", `${uploadsPath(s)}?digest=${digest}`, {
        body: bytes,
        headers: octets,
      });
      if (post.status === 202) {
        // The session fallback: finish it as "POST then PUT" so both sides hold the blob.
        const put = await s.send(null, "PUT", withQuery(post.location!, { digest }), { body: bytes, headers: octets });
        expect(put.status).toBe(201);
      }
      await s.send("HEAD blob", "HEAD", blobPath(s, digest));
    },
    allow: {
      "POST ?digest=": {
        fields: ["status", "location", "dockerContentDigest", "uploadUuid", "range"],
        reason:
          'spec "Single POST" + end-4b (201/202): "Registries that do not support single request monolithic uploads ' +
          'SHOULD return a 202 Accepted status code and Location header"; distribution 2.8 does not support them',
        check(reference, wharf) {
          expectBlobCreated(wharf); // Wharf supports single POST
          if (reference.status === 202) expectSessionOpened(reference);
          else expectBlobCreated(reference);
        },
      },
    },
  },
  {
    name: "POST then PUT",
    run: async (s) => {
      const digest = await pushBlob(s, "upload", s.bytes("post-put"));
      await s.send("GET blob", "GET", blobPath(s, digest), { keepBody: true });
    },
  },
  {
    name: "streamed PATCH then PUT",
    run: async (s) => {
      const bytes = s.bytes("streamed", 300);
      const post = await s.send("POST", "POST", uploadsPath(s));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 100));
          controller.enqueue(bytes.subarray(100));
          controller.close();
        },
      });
      // No Content-Range and no Content-Length: a streamed (chunked transfer-encoding) PATCH.
      const patch = await s.send("PATCH stream", "PATCH", post.location!, { body: stream, headers: octets });
      await s.send("PUT ?digest=", "PUT", withQuery(patch.location!, { digest: sha256(bytes) }));
      await s.send("GET blob", "GET", blobPath(s, sha256(bytes)), { keepBody: true });
    },
  },
  {
    name: "chunked PATCHes with Content-Range",
    run: async (s) => {
      const bytes = s.bytes("chunked", 64);
      const post = await s.send("POST", "POST", uploadsPath(s));
      const chunk = async (label: string, url: string, start: number, end: number) =>
        s.send(label, "PATCH", url, {
          body: bytes.subarray(start, end + 1),
          headers: { ...octets, "Content-Range": `${start}-${end}` },
        });
      const first = await chunk("PATCH 0-9", post.location!, 0, 9);
      const second = await chunk("PATCH 10-29", first.location!, 10, 29);
      // spec "Pushing a blob in chunks": the final chunk MAY be uploaded in the closing PUT.
      await s.send("PUT final chunk 30-63", "PUT", withQuery(second.location!, { digest: sha256(bytes) }), {
        body: bytes.subarray(30),
        headers: { ...octets, "Content-Range": "30-63" },
      });
      await s.send("GET blob", "GET", blobPath(s, sha256(bytes)), { keepBody: true });
    },
  },
  {
    name: "out-of-order chunk",
    run: async (s) => {
      const bytes = s.bytes("out-of-order", 64);
      const post = await s.send("POST", "POST", uploadsPath(s));
      const first = await s.send("PATCH 0-9", "PATCH", post.location!, {
        body: bytes.subarray(0, 10),
        headers: { ...octets, "Content-Range": "0-9" },
      });
      const gap = await s.send("PATCH 20-29 (gap)", "PATCH", first.location!, {
        body: bytes.subarray(20, 30),
        headers: { ...octets, "Content-Range": "20-29" },
      });
      // "A GET request may be used to retrieve the current valid offset and upload location."
      await s.send("GET status after 416", "GET", gap.location!);
      await s.send(null, "DELETE", gap.location!);
    },
    allow: {
      "PATCH 20-29 (gap)": {
        fields: ["status", "range", "code", "contentLength", "contentType"],
        reason:
          'spec "Pushing a blob in chunks": "If a chunk is uploaded out of order, the registry MUST respond with a ' +
          '416 Requested Range Not Satisfiable code"; distribution 2.8 ignores Content-Range and appends (spec wins)',
        check(reference, wharf) {
          expect(wharf).toMatchObject({ status: 416, range: "0-9", code: "BLOB_UPLOAD_INVALID", uploadUuid: true });
          expect(wharf.location).toMatch(/\/blobs\/uploads\/<uuid>$/);
          if (reference.status === 416) expect(reference.range).toBe("0-9");
          else expect(reference).toMatchObject({ status: 202, range: "0-19" });
        },
      },
      "GET status after 416": {
        fields: ["range"],
        reason: "follows from the out-of-order PATCH: distribution 2.8 appended the rejected chunk",
        check(reference, wharf) {
          expect(wharf).toMatchObject({ status: 204, range: "0-9" });
          expect(["0-9", "0-19"]).toContain(reference.range);
        },
      },
    },
  },
  {
    name: "upload status",
    run: async (s) => {
      const bytes = s.bytes("status");
      const post = await s.send("POST", "POST", uploadsPath(s));
      await s.send("GET status (fresh)", "GET", post.location!);
      const patch = await s.send("PATCH 0-9", "PATCH", post.location!, {
        body: bytes.subarray(0, 10),
        headers: { ...octets, "Content-Range": "0-9" },
      });
      const status = await s.send("GET status (10 bytes)", "GET", patch.location!);
      expect(status.headers.get("Range"), s.side).toBe("0-9");
      await s.send(null, "DELETE", patch.location!);
    },
  },
  {
    name: "cancel upload",
    run: async (s) => {
      const post = await s.send("POST", "POST", uploadsPath(s));
      await s.send("DELETE upload", "DELETE", post.location!);
      await s.send("GET status after cancel", "GET", post.location!);
    },
    allow: {
      "DELETE upload": {
        fields: ["uploadUuid"],
        reason:
          'end-14 "the response SHOULD be a 204 No Content"; Docker Registry HTTP API V2 "Cancel an Upload" lists ' +
          "only Content-Length: 0, so Docker-Upload-UUID (which distribution adds) is optional",
        check(reference, wharf) {
          expect(reference.status).toBe(204);
          expect(wharf.status).toBe(204);
        },
      },
    },
  },
  {
    name: "blob pull and range",
    run: async (s) => {
      const bytes = s.bytes("pull", 100);
      const digest = await pushBlob(s, "upload", bytes);
      await s.send("HEAD blob", "HEAD", blobPath(s, digest));
      await s.send("GET blob", "GET", blobPath(s, digest), { keepBody: true });
      const partial = await s.send("GET Range bytes=0-9", "GET", blobPath(s, digest), {
        headers: { Range: "bytes=0-9" },
        keepBody: true,
      });
      expect(partial.body, s.side).toEqual(bytes.subarray(0, 10));
    },
  },
  {
    name: "blob unknown",
    run: async (s) => {
      await pushBlob(s, "upload", s.bytes("known"));
      const unknown = sha256(s.bytes("never-pushed"));
      await s.send("GET unknown blob", "GET", blobPath(s, unknown));
      await s.send("HEAD unknown blob", "HEAD", blobPath(s, unknown));
      await s.send("GET blob in unknown repository", "GET", `/v2/${s.repo}-absent/blobs/${unknown}`);
    },
  },
  {
    name: "wrong digest on PUT",
    run: async (s) => {
      const post = await s.send("POST", "POST", uploadsPath(s));
      await s.send("PUT wrong ?digest=", "PUT", withQuery(post.location!, { digest: sha256(s.bytes("other")) }), {
        body: s.bytes("actual"),
        headers: octets,
      });
    },
  },
  {
    name: "cross-repository mount",
    run: async (s) => {
      const digest = await pushBlob(s, "source upload", s.bytes("mounted"));
      const target = `${s.repo}-target`;
      await s.send("POST mount (known blob)", "POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${s.repo}`);
      await s.send("HEAD mounted blob", "HEAD", `/v2/${target}/blobs/${digest}`);
      const missing = sha256(s.bytes("not-in-source"));
      const fallback = await s.send(
        "POST mount (unknown blob)",
        "POST",
        `/v2/${target}/blobs/uploads/?mount=${missing}&from=${s.repo}`,
      );
      if (fallback.location) await s.send(null, "DELETE", fallback.location);
    },
  },
  {
    name: "delete blob",
    run: async (s) => {
      const digest = await pushBlob(s, "upload", s.bytes("deleted"));
      await s.send("DELETE blob", "DELETE", blobPath(s, digest));
      await s.send("HEAD deleted blob", "HEAD", blobPath(s, digest));
    },
    allow: {
      "DELETE blob": {
        fields: ["dockerContentDigest"],
        reason:
          'spec "Deleting Blobs" requires only 202; Docker Registry HTTP API V2 "Delete Blob" lists ' +
          "Docker-Content-Digest on the 202, which distribution 2.8 omits",
        check(reference, wharf) {
          expect(reference.status).toBe(202);
          expect(wharf.status).toBe(202);
          expect(wharf.dockerContentDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
        },
      },
    },
  },
];

describeDifferential("blobs and uploads", flows);
