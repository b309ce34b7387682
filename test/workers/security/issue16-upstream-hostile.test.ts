/**
 * Attacks (issue #16 review) by a hostile upstream on the upstream client (src/upstream/client.ts),
 * which any organization admin (a proxy cache) or repository admin (a mirror) can point at a
 * registry they run.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearUpstreamCaches, upstreamRegistry } from "../../../src/upstream/client";
import { MAX_TAGS } from "../../../src/upstream/tag-pages";
import { FakeUpstream, upstreamFailure } from "../helpers/fake-upstream";

const NO_ENV = {};
const CONFIG = { host: "upstream.example", insecure: false };

const failure = upstreamFailure;

beforeEach(() => clearUpstreamCaches());
afterEach(() => vi.restoreAllMocks());

describe("an endless tag list", () => {
  it("is cut off once it holds more tags than any repository has, not after 100 pages of 4 MiB each", async () => {
    const upstream = new FakeUpstream({ auth: "none" }).install();
    const perPage = 20_000;
    let pages = 0;
    upstream.intercept = (r) => {
      if (!r.url.includes("/tags/list")) return undefined;
      pages++;
      const tags = Array.from({ length: perPage }, (_, i) => `p${pages}-${i}`);
      return Response.json({ tags }, { headers: { Link: `</v2/app/tags/list?last=p${pages}>; rel="next"` } });
    };
    const err = await failure(upstreamRegistry(NO_ENV, CONFIG).listTags("app"));
    expect(err.kind).toBe("too-large");
    // Each page is within its own cap; what a sync holds in memory must be bounded too.
    expect(pages).toBeLessThanOrEqual(Math.ceil(MAX_TAGS / perPage) + 1);
  });
});

describe("a 401 from where the registry redirected a blob", () => {
  it("is no challenge of the registry's: the credentials go to no realm it names, and nothing is cached", async () => {
    const alice = { username: "alice", password: "s3cret:pass" };
    const upstream = new FakeUpstream({
      users: { alice: alice.password },
      blobStorageOrigin: "https://storage.example",
    }).install();
    const digest = (await upstream.putBlob("layer bytes")) as `sha256:${string}`;
    const registry = upstreamRegistry(NO_ENV, { ...CONFIG, credentials: alice });
    // The registry's challenge is known: the blob GET goes with a token and is redirected.
    expect(await registry.ping()).toBe("valid");
    upstream.intercept = (r) =>
      new URL(r.url).origin === "https://storage.example"
        ? new Response(null, {
            status: 401,
            headers: { "WWW-Authenticate": 'Bearer realm="https://collector.example/token",service="x"' },
          })
        : new URL(r.url).origin === "https://collector.example"
          ? Response.json({ token: "collected" })
          : undefined;
    expect((await failure(registry.getBlob("team/app", digest))).kind).toBe("unauthorized");
    expect(upstream.requests.filter((r) => new URL(r.url).origin === "https://collector.example")).toEqual([]);
    // The registry's own challenge still applies to its next request.
    upstream.intercept = null;
    await registry.ping();
    expect(upstream.requests.filter((r) => new URL(r.url).origin === "https://collector.example")).toEqual([]);
  });
});

describe("a next tag page whose path starts with //", () => {
  it("does not steer the client (and its Authorization) to another host", async () => {
    const alice = { username: "alice", password: "s3cret:pass" };
    const upstream = new FakeUpstream({ auth: "basic", users: { alice: alice.password } }).install();
    await upstream.putImage("app", "a");
    upstream.intercept = (r) => {
      const url = new URL(r.url);
      if (url.origin === "https://evil.example") return Response.json({ tags: ["stolen"] });
      if (url.pathname === "/v2/app/tags/list" && r.authorization)
        return Response.json(
          { tags: ["a"] },
          { headers: { Link: '<https://upstream.example//evil.example/v2/app/tags/list?last=a>; rel="next"' } },
        );
      return undefined;
    };
    const err = await failure(upstreamRegistry(NO_ENV, { ...CONFIG, credentials: alice }).listTags("app"));
    expect(["protocol", "refused"]).toContain(err.kind);
    expect(upstream.requests.filter((r) => new URL(r.url).origin === "https://evil.example")).toEqual([]);
  });
});
