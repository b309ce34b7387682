/**
 * Fuzzing /api/v1: the JSON body of every documented write operation and the query of every
 * documented listing, drawn from the routes' own schemas (./api-schema.ts), with path parameters
 * naming real fixtures (or garbage), as a superuser holding every scope. Every answer is a success
 * or Quay's error JSON with a 4xx, within the time bound; D1 stays consistent. Nothing leaves the
 * Worker: fetch answers 503, as an unreachable remote would.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { makeUser } from "../helpers/accounts";
import { fixtureCall, initializeAdmin } from "../helpers/api";
import { type PushedImage, pushImage } from "../helpers/registry";
import { ROUTES, jsonSchemaOf, queryOf, fieldValue } from "./api-schema";
import { brokenInvariants } from "./consistency";
import { fuzzRequest, runs, timeFor } from "./fuzz";

/**
 * Operations left out: they end the caller's own account or sign it out, after which the rest of
 * the run would test only refusals (each is covered by its own tests in test/workers/api/).
 */
const LEFT_OUT = new Set(["PUT /user", "POST /user/convert", "POST /signout", "DELETE /user"]);

/** What each path parameter names: a fixture of this file. */
const FIXTURES: Record<string, string> = {
  repository: "fuzzorg/app",
  orgname: "fuzzorg",
  namespace: "fuzzorg",
  name: "fuzzorg",
  username: "fuzzuser",
  membername: "fuzzuser",
  teamname: "owners",
  tag: "latest",
  shortname: "bot",
  email: "fuzz@example.com",
  service_id: "github",
};

let token: string;
let image: PushedImage;

beforeAll(async () => {
  token = await initializeAdmin();
  await makeUser(token, "fuzzuser");
  await fixtureCall(token, "POST", "/organization/", { name: "fuzzorg", email: "fuzzorg@example.com" });
  await fixtureCall(token, "POST", "/repository", {
    namespace: "fuzzorg",
    repository: "app",
    visibility: "private",
    description: "",
  });
  image = await pushImage("fuzzorg/app", "latest");
  await fixtureCall(token, "PUT", "/organization/fuzzorg/robots/bot", {});
  vi.spyOn(globalThis, "fetch").mockImplementation(
    async () => new Response("no network while fuzzing", { status: 503 }),
  );
});

afterAll(() => {
  vi.restoreAllMocks();
});

const garbageSegment = fc.constantFrom(
  "x",
  "%00",
  "%FF",
  "..",
  "00000000-0000-0000-0000-000000000000",
  "1",
  "a".repeat(300),
);

/** The path of `template` (hono's, `:param{regex}`) with each parameter a fixture or, sometimes, garbage. */
function pathOf(template: string): fc.Arbitrary<string> {
  const params = [...template.matchAll(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g)].map((m) => m[1]!);
  return fc
    .tuple(
      ...params.map((p) => {
        const fixture = p === "manifestref" ? image.digest : FIXTURES[p];
        return fixture === undefined
          ? garbageSegment
          : fc.oneof({ weight: 5, arbitrary: fc.constant(fixture) }, garbageSegment);
      }),
    )
    .map((values) => {
      let i = 0;
      return `/api/v1${template.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, () => values[i++]!)}`;
    });
}

const writes = () => ROUTES.filter((r) => r.method !== "GET" && r.doc.body && !LEFT_OUT.has(`${r.method} ${r.path}`));
const listings = () => ROUTES.filter((r) => r.method === "GET" && r.doc.query);

describe("fuzzing /api/v1 bodies and queries", () => {
  it(
    "every write operation's body: a success or Quay's error JSON, never a 500",
    async () => {
      const cases = fc.constantFrom(...writes()).chain((route) =>
        fc.tuple(
          fc.constant(route),
          pathOf(route.path),
          fc.oneof(
            { weight: 6, arbitrary: fieldValue(jsonSchemaOf(route.doc.body!)).map((v) => JSON.stringify(v) ?? "null") },
            {
              weight: 1,
              arbitrary: fc.constantFrom("", "{", "[]", "null", '{"a":1,"a":2}', "\ufeff{}", "{}".repeat(1000)),
            },
          ),
        ),
      );
      await fc.assert(
        fc.asyncProperty(cases, async ([route, path, body]) => {
          await fuzzRequest("api", route.method, path, {
            headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
            body,
          });
        }),
        runs(600),
      );
    },
    timeFor(600),
  );

  it(
    "every listing's query: a success or Quay's error JSON, never a 500",
    async () => {
      const cases = fc
        .constantFrom(...listings())
        .chain((route) => fc.tuple(pathOf(route.path), queryOf(route.doc.query)));
      await fc.assert(
        fc.asyncProperty(cases, async ([path, query]) => {
          await fuzzRequest("api", "GET", `${path}?${query}`, { headers: { Authorization: `Bearer ${token}` } });
        }),
        runs(400),
      );
    },
    timeFor(400),
  );

  it("leaves D1 consistent", async () => {
    expect(await brokenInvariants()).toEqual([]);
  });
});
