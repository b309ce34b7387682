/**
 * Differential test, manifests, tags and repository names: the same raw HTTP flows against
 * distribution 2.8 (Debian's docker-registry) and Wharf. See differential.test.ts for blobs and
 * uploads and helpers/differential.ts for what is compared. distribution 2.8 has no referrers
 * API, so there is no referrers flow.
 */
import { expect } from "vitest";
import {
  DOCKER_MANIFEST,
  imageManifest,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  describeDifferential,
  sha256,
  type Flow,
  type Session,
  type View,
} from "./helpers/differential";

const manifestPath = (s: Session, reference: string) => `/v2/${s.repo}/manifests/${reference}`;

/** Push by tag, then GET and HEAD by tag and by digest: the exact bytes, type and digest. */
function pushPullFlow(name: string, mediaType: string): Flow {
  return {
    name,
    run: async (s) => {
      const manifest = await pushImage(s, "push", mediaType, "v1");
      const accept = { Accept: mediaType };
      for (const reference of ["v1", manifest.digest]) {
        const kind = reference === "v1" ? "tag" : "digest";
        const got = await s.send(`GET by ${kind}`, "GET", manifestPath(s, reference), {
          headers: accept,
          keepBody: true,
        });
        expect(got.body.equals(manifest.bytes), `${s.side}: GET by ${kind} serves the pushed bytes`).toBe(true);
        expect(got.headers.get("Docker-Content-Digest"), s.side).toBe(manifest.digest);
        await s.send(`HEAD by ${kind}`, "HEAD", manifestPath(s, reference), { headers: accept });
      }
    },
  };
}

const tagsPage = (link: string | null | undefined) => link?.match(/^<\/v2\/.+\/tags\/list\?(.*)>; rel="next"$/)?.[1];

/** distribution 2.8 predates tag pagination: it ignores `n` and `last` and sends no Link. */
function expectUnpaginated(reference: View, allTags: string[]): void {
  expect(reference.status).toBe(200);
  expect([...reference.tags!].sort()).toEqual(allTags);
  expect(reference.link).toBeNull();
}

const PAGINATION_REASON =
  'spec "Listing Tags": "returns up to <int> tags", lexically sorted, and "If more tags are available, the registry ' +
  'may include a Link header ... rel=\\"next\\""; distribution 2.8 ignores n and last (spec wins)';

const flows: Flow[] = [
  pushPullFlow("OCI image manifest push and pull", OCI_MANIFEST),
  pushPullFlow("Docker schema 2 manifest push and pull", DOCKER_MANIFEST),
  {
    name: "manifest rejected",
    run: async (s) => {
      const config = s.bytes("config");
      await pushBlob(s, "config", config);
      const missingLayer = imageManifest(OCI_MANIFEST, config, s.bytes("layer never pushed"));
      await s.send("PUT referencing a missing blob", "PUT", manifestPath(s, "missing"), {
        body: missingLayer.bytes,
        headers: { "Content-Type": OCI_MANIFEST },
      });
      await s.send("PUT invalid JSON", "PUT", manifestPath(s, "invalid"), {
        body: '{"schemaVersion": 2, "mediaType": ',
        headers: { "Content-Type": OCI_MANIFEST },
      });
      await s.send("GET rejected tag", "GET", manifestPath(s, "missing"));
    },
    // Both answer 400 MANIFEST_BLOB_UNKNOWN for a missing blob (Wharf answered 404 before issue #12).
  },
  {
    name: "manifest unknown",
    run: async (s) => {
      await pushImage(s, "push", OCI_MANIFEST, "v1");
      await s.send("GET unknown tag", "GET", manifestPath(s, "nope"));
      await s.send("HEAD unknown tag", "HEAD", manifestPath(s, "nope"));
      await s.send("GET unknown digest", "GET", manifestPath(s, sha256(s.bytes("no such manifest"))));
      await s.send("GET in unknown repository", "GET", `/v2/${s.repo}-absent/manifests/v1`);
      await s.send("tags list of unknown repository", "GET", `/v2/${s.repo}-absent/tags/list`);
    },
    allow: {
      "GET in unknown repository": {
        fields: ["code"],
        reason:
          'end-3 failure is 404; the spec names NAME_UNKNOWN (code-9, "repository name not known to registry") for ' +
          "this and Quay answers it; distribution 2.8 does not tell repositories from manifests and says MANIFEST_UNKNOWN",
        check(reference, wharf) {
          expect(wharf).toMatchObject({ status: 404, code: "NAME_UNKNOWN" });
          expect(reference.status).toBe(404);
          expect(["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]).toContain(reference.code);
        },
      },
    },
  },
  {
    name: "tags list pagination",
    run: async (s) => {
      const manifest = await pushImage(s, "push", OCI_MANIFEST, "alpha");
      await s.send("PUT same manifest as beta", "PUT", manifestPath(s, "beta"), {
        body: manifest.bytes,
        headers: { "Content-Type": OCI_MANIFEST },
      });
      const first = await s.send("GET ?n=1", "GET", `/v2/${s.repo}/tags/list?n=1`);
      // Follow the Link where there is one; otherwise ask for the page after "alpha" directly.
      const next = tagsPage(first.headers.get("Link")) ?? "n=1&last=alpha";
      await s.send("GET next page (n=1&last=alpha)", "GET", `/v2/${s.repo}/tags/list?${next}`);
      await s.send("GET all tags", "GET", `/v2/${s.repo}/tags/list`);
    },
    allow: {
      "GET ?n=1": {
        fields: ["tags", "link"],
        reason: PAGINATION_REASON,
        check(reference, wharf) {
          expect(wharf).toMatchObject({ status: 200, tags: ["alpha"] });
          expect(tagsPage(wharf.link)).toBe("n=1&last=alpha");
          if (reference.link) expect(reference).toMatchObject({ tags: ["alpha"], link: wharf.link });
          else expectUnpaginated(reference, ["alpha", "beta"]);
        },
      },
      "GET next page (n=1&last=alpha)": {
        fields: ["tags", "link"],
        reason: PAGINATION_REASON,
        check(reference, wharf) {
          // The last page: no Link, as more tags are not available.
          expect(wharf).toMatchObject({ status: 200, tags: ["beta"], link: null });
          if (reference.tags!.length === 1) expect(reference.tags).toEqual(["beta"]);
          else expectUnpaginated(reference, ["alpha", "beta"]);
        },
      },
      "GET all tags": {
        fields: ["tags"],
        reason:
          'spec "Listing Tags": tags "MUST be sorted in lexical ... or ASCIIbetical order"; distribution 2.8 lists ' +
          "them in storage order",
        check(reference, wharf) {
          expect(wharf.tags).toEqual(["alpha", "beta"]);
          expectUnpaginated(reference, ["alpha", "beta"]);
        },
      },
    },
  },
  {
    name: "delete manifest",
    run: async (s) => {
      const manifest = await pushImage(s, "push", OCI_MANIFEST, "v1");
      await s.send("DELETE by digest", "DELETE", manifestPath(s, manifest.digest));
      await s.send("GET deleted digest", "GET", manifestPath(s, manifest.digest));
      await s.send("HEAD deleted digest", "HEAD", manifestPath(s, manifest.digest));
      await s.send("GET tag of deleted manifest", "GET", manifestPath(s, "v1"));
    },
  },
  {
    name: "invalid repository name",
    run: async (s) => {
      await s.send("GET tags of Upper/Case name", "GET", `/v2/${s.repo}/Upper/tags/list`);
      await s.send("GET manifest of a 256-character name", "GET", `/v2/${"a".repeat(256)}/manifests/latest`);
      await s.send("POST upload to a name with '..'", "POST", `/v2/${s.repo}/a..b/blobs/uploads/`);
    },
    allow: Object.fromEntries(
      [
        ["GET tags of Upper/Case name", 404, "<non-JSON body>", "its router matches no route: 404 page not found"],
        ["GET manifest of a 256-character name", 500, "UNKNOWN", "the too-long name fails in storage: 500 UNKNOWN"],
        ["POST upload to a name with '..'", 404, "<non-JSON body>", "its router matches no route: 404 page not found"],
      ].map(([label, referenceStatus, referenceCode, what]) => [
        label as string,
        {
          fields: ["status", "code"],
          reason:
            `the spec defines NAME_INVALID (code-8, "invalid repository name") for a name outside the <name> grammar ` +
            `or longer than 255 characters; distribution 2.8 deviates: ${what} (spec wins)`,
          check(reference: View, wharf: View) {
            expect(wharf).toMatchObject({ status: 400, code: "NAME_INVALID" });
            if (reference.code !== "NAME_INVALID")
              expect(reference).toMatchObject({ status: referenceStatus, code: referenceCode });
          },
        },
      ]),
    ),
  },
];

describeDifferential("manifests, tags and names", flows);
