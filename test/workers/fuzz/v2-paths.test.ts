/**
 * Fuzzing /v2 paths: repository names, references (tags and digests) and digests, in every read and
 * delete route, with a token that grants every action on one real repository. Whatever the path,
 * the answer is a success or the OCI error envelope with a 4xx, within the time bound, and D1 stays
 * consistent.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type PushedImage, pushImage, registryToken } from "../helpers/registry";
import { brokenInvariants } from "./consistency";
import { fuzzRequest, runs, timeFor } from "./fuzz";
import { digestLike, nameLike, referenceLike } from "./inputs";

const REPO = "fuzz/app";
let image: PushedImage;
let token: string;

beforeAll(async () => {
  image = await pushImage(REPO, "latest", { layers: 2 });
  token = await registryToken(
    [
      { type: "repository", name: REPO, actions: ["pull", "push", "delete"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ],
    REPO.split("/")[0]!,
  );
});

const READS = ["GET", "HEAD"] as const;

describe("fuzzing /v2 paths", () => {
  it(
    "names in every read route: a success or an OCI error, never a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          nameLike,
          fc.constantFrom(...READS),
          fc.constantFrom("manifests/latest", "tags/list", "blobs/DIGEST", "referrers/DIGEST", "blobs/uploads/x"),
          async (name, method, rest) => {
            const path = `/v2/${name}/${rest.replace("DIGEST", image.config)}`;
            await fuzzRequest("registry", method, path, { token });
          },
        ),
        runs(400),
      );
    },
    timeFor(400),
  );

  it(
    "references and digests of a real repository: a success or an OCI error, never a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(referenceLike, digestLike),
          fc.constantFrom(...READS, "DELETE"),
          fc.constantFrom("manifests", "blobs", "referrers"),
          async (reference, method, route) => {
            // Deleting by a fuzzed reference may hit the real tag: the property is then that the
            // repository stays consistent, which the last test checks.
            const path = `/v2/${REPO}/${route}/${reference}`;
            await fuzzRequest("registry", method, path, { token });
          },
        ),
        runs(500),
      );
    },
    timeFor(500),
  );

  it(
    "tag listing and catalog pagination: a success or an OCI error, never a 500",
    async () => {
      const queryValue = fc.oneof(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
        fc.constantFrom("", "NaN", "1e400", "-0", "0x10", " 5", "5 ", "１２", "9".repeat(400)),
        fc.string({ maxLength: 50 }).map(encodeURIComponent),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(`/v2/${REPO}/tags/list`, "/v2/_catalog"),
          queryValue,
          fc.option(fc.oneof(referenceLike, nameLike)),
          async (route, n, last) => {
            const path = `${route}?n=${n}${last === null ? "" : `&last=${last}`}`;
            await fuzzRequest("registry", "GET", path, { token });
          },
        ),
        runs(400),
      );
    },
    timeFor(400),
  );

  it(
    "upload starts, mounts and session routes with any query: a success or an OCI error, never a 500",
    async () => {
      const param = fc.oneof(digestLike, nameLike, fc.constant(image.config), fc.constant(REPO));
      await fc.assert(
        fc.asyncProperty(
          fc.record({ mount: param, from: param, digest: param }, { requiredKeys: [] }),
          fc.constantFrom("POST start", "PUT session", "PATCH session", "GET session", "DELETE session", "PUT garbage"),
          fc.uint8Array({ maxLength: 64 }),
          async (query, route, body) => {
            const search = new URLSearchParams(query as Record<string, string>).toString();
            let path = `/v2/${REPO}/blobs/uploads/?${search}`;
            let method = "POST";
            if (route.endsWith("session")) {
              const opened = await fuzzRequest("registry", "POST", `/v2/${REPO}/blobs/uploads/`, { token });
              path = `${opened.headers.get("Location")}?${search}`;
              method = route.split(" ")[0]!;
            } else if (route === "PUT garbage") {
              path = `/v2/${REPO}/blobs/uploads/${encodeURIComponent(String(query.digest ?? "x"))}?${search}`;
              method = "PUT";
            }
            await fuzzRequest("registry", method, path, {
              token,
              body: method === "GET" || method === "DELETE" ? undefined : body,
              headers: { "Content-Type": "application/octet-stream" },
            });
          },
        ),
        runs(300),
      );
    },
    timeFor(300),
  );

  it("leaves D1 consistent", async () => {
    expect(await brokenInvariants()).toEqual([]);
  });
});
