/**
 * The upstream registry client (src/upstream/client.ts) against a fake registry behind a spy on
 * the Worker's fetch (test/workers/helpers/fake-upstream.ts): Docker's token dance and its cache,
 * the retry after a 401, HTTP Basic, blob redirects to another origin without the Authorization,
 * the outbound guard, digest checks, size caps and tag pagination.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearUpstreamCaches, registryBase, upstreamRegistry } from "../../../src/upstream/client";
import { parseChallenge } from "../../../src/upstream/challenge";
import { advanceClock } from "../helpers/clock";
import { FakeUpstream, upstreamFailure, sha256 } from "../helpers/fake-upstream";

const NO_ENV = {};
const CONFIG = { host: "upstream.example", insecure: false };
const ALICE = { username: "alice", password: "s3cret:pass" };

const failure = upstreamFailure;

beforeEach(() => clearUpstreamCaches());
afterEach(() => vi.restoreAllMocks());

describe("upstreamRegistry: authentication", () => {
  it("does the token dance with Basic credentials at the realm, then reuses the token until it nearly expires", async () => {
    const upstream = new FakeUpstream({ users: { alice: ALICE.password }, tokenExpiresIn: 300 }).install();
    const image = await upstream.putImage("team/app", "v1");
    const registry = upstreamRegistry(NO_ENV, { ...CONFIG, credentials: ALICE });

    expect(await registry.ping()).toBe("valid");
    const manifest = await registry.getManifest("team/app", "v1");
    expect(manifest).toMatchObject({ digest: image.digest, mediaType: "application/vnd.oci.image.manifest.v1+json" });
    expect(manifest!.bytes).toEqual(image.bytes);
    expect(await registry.headManifest("team/app", "v1")).toEqual({
      digest: image.digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: image.bytes.length,
    });
    const tokenRequests = upstream.requests.filter((r) => r.url.startsWith(upstream.realm));
    // One token for the ping (no scope), one for the repository's pull scope, reused by the HEAD.
    expect(tokenRequests.map((r) => new URL(r.url).searchParams.get("scope"))).toEqual([
      null,
      "repository:team/app:pull",
    ]);
    expect(tokenRequests.every((r) => r.authorization === `Basic ${btoa("alice:s3cret:pass")}`)).toBe(true);
    expect(new URL(tokenRequests[0]!.url).searchParams.get("service")).toBe("upstream.example");

    // Shortly before expires_in the token is fetched again, without a 401 first.
    advanceClock(280_000);
    const before = upstream.requests.length;
    await registry.headManifest("team/app", "v1");
    expect(upstream.requests.slice(before).map((r) => new URL(r.url).host)).toEqual([
      "auth.upstream.example",
      "upstream.example",
    ]);
  });

  it("retries once with a fresh token after a 401, and reports a second 401 as unauthorized", async () => {
    const upstream = new FakeUpstream({ anonymousPull: true }).install();
    const image = await upstream.putImage("team/app", "v1");
    const registry = upstreamRegistry(NO_ENV, CONFIG);
    expect(await registry.ping()).toBe("anonymous");
    expect((await registry.headManifest("team/app", "v1"))?.digest).toBe(image.digest);
    upstream.revokeTokens();
    const before = upstream.requests.length;
    expect((await registry.headManifest("team/app", "v1"))?.digest).toBe(image.digest);
    // The cached token refused, a fresh one, the retry.
    expect(upstream.requests.slice(before).map((r) => new URL(r.url).host)).toEqual([
      "upstream.example",
      "auth.upstream.example",
      "upstream.example",
    ]);
    upstream.intercept = (r) =>
      new URL(r.url).host === "upstream.example"
        ? new Response(null, { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${upstream.realm}"` } })
        : undefined;
    expect((await failure(registry.getManifest("team/app", "v1"))).kind).toBe("unauthorized");
  });

  it("reports refused credentials and a registry that wants them as unauthorized", async () => {
    new FakeUpstream({ users: { alice: "right" } }).install();
    const wrong = upstreamRegistry(NO_ENV, { ...CONFIG, credentials: { username: "alice", password: "wrong" } });
    const err = await failure(wrong.ping());
    expect(err.kind).toBe("unauthorized");
    expect(err.message).not.toMatch(/wrong/);
    expect((await failure(upstreamRegistry(NO_ENV, CONFIG).ping())).kind).toBe("unauthorized");
  });

  it("refuses a token realm on a private address, asking nothing there", async () => {
    const upstream = new FakeUpstream({ realm: "https://169.254.169.254/token", anonymousPull: true }).install();
    expect((await failure(upstreamRegistry(NO_ENV, CONFIG).ping())).kind).toBe("refused");
    expect(upstream.requests.map((r) => new URL(r.url).host)).toEqual(["upstream.example"]);
  });

  it("sends credentials to no token service over plain http unless the upstream is insecure", async () => {
    const upstream = new FakeUpstream({
      realm: "http://auth.upstream.example/token",
      users: { alice: ALICE.password },
    });
    upstream.install();
    const err = await failure(upstreamRegistry(NO_ENV, { ...CONFIG, credentials: ALICE }).ping());
    expect(err.kind).toBe("refused");
    expect(upstream.requests.some((r) => r.url.startsWith("http://auth."))).toBe(false);
  });

  it("keeps a token 60 s when the answer names no lifetime, as the specification says", async () => {
    const upstream = new FakeUpstream({ anonymousPull: true, tokenExpiresIn: null }).install();
    await upstream.putImage("app", "v1");
    const registry = upstreamRegistry(NO_ENV, CONFIG);
    await registry.headManifest("app", "v1");
    advanceClock(20_000);
    await registry.headManifest("app", "v1");
    expect(upstream.requests.filter((r) => r.url.startsWith(upstream.realm))).toHaveLength(1);
    advanceClock(15_000);
    await registry.headManifest("app", "v1");
    expect(upstream.requests.filter((r) => r.url.startsWith(upstream.realm))).toHaveLength(2);
  });

  it("sends Basic credentials when the registry challenges Basic", async () => {
    const upstream = new FakeUpstream({ auth: "basic", users: { alice: ALICE.password } }).install();
    await upstream.putImage("app", "v1");
    const registry = upstreamRegistry(NO_ENV, { ...CONFIG, credentials: ALICE });
    expect(await registry.ping()).toBe("valid");
    expect(await registry.listTags("app")).toEqual(["v1"]);
    // After the first challenge, requests carry the credentials up front.
    expect(upstream.requests.map((r) => r.authorization !== null)).toEqual([false, true, true]);
    expect((await failure(upstreamRegistry(NO_ENV, CONFIG).listTags("app"))).kind).toBe("unauthorized");
  });

  it("reads challenges as RFC 7235 writes them", () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"')).toEqual({
      scheme: "bearer",
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
    });
    expect(parseChallenge('Basic realm="x", Bearer realm="https://a.example/t", scope="repository:a:pull"')).toEqual({
      scheme: "bearer",
      realm: "https://a.example/t",
      scope: "repository:a:pull",
    });
    expect(parseChallenge('basic realm="with \\"quotes\\", and commas"')).toEqual({
      scheme: "basic",
      realm: 'with "quotes", and commas',
    });
    expect(parseChallenge("Negotiate abc==, Basic")).toEqual({ scheme: "basic" });
    for (const junk of [null, "", "Bearer", 'realm="x"', "=,=,", "Bearer service=x"])
      expect(parseChallenge(junk)).toBeNull();
  });
});

describe("upstreamRegistry: blobs", () => {
  it("follows a redirect to storage on another origin, without the Authorization, and streams the blob", async () => {
    const upstream = new FakeUpstream({ anonymousPull: true, blobStorageOrigin: "https://storage.example" }).install();
    const image = await upstream.putImage("team/app", "v1", "x".repeat(100_000));
    const blob = await upstreamRegistry(NO_ENV, CONFIG).getBlob("team/app", image.layer as `sha256:${string}`);
    expect(blob!.size).toBe(100_000);
    expect(new TextDecoder().decode(await new Response(blob!.body).arrayBuffer())).toBe("x".repeat(100_000));
    const hops = upstream.requests.filter((r) => !r.url.startsWith(upstream.realm));
    expect(hops.map((r) => [new URL(r.url).host, r.authorization?.split(" ")[0] ?? null])).toEqual([
      ["upstream.example", null],
      ["upstream.example", "Bearer"],
      ["storage.example", null],
    ]);
    expect(
      await upstreamRegistry(NO_ENV, CONFIG).getBlob(
        "team/app",
        (await sha256(new Uint8Array(1))) as `sha256:${string}`,
      ),
    ).toBeNull();
  });

  it("refuses a redirect to a private address, and a private upstream without ALLOW_PRIVATE_OUTBOUND", async () => {
    const upstream = new FakeUpstream({ auth: "none", blobStorageOrigin: "https://169.254.169.254" }).install();
    const image = await upstream.putImage("app", "v1");
    const err = await failure(upstreamRegistry(NO_ENV, CONFIG).getBlob("app", image.layer as `sha256:${string}`));
    expect(err.kind).toBe("refused");
    expect(upstream.requests.some((r) => r.url.includes("169.254"))).toBe(false);

    const before = upstream.requests.length;
    const local = { host: "127.0.0.1:5000", insecure: true };
    expect((await failure(upstreamRegistry(NO_ENV, local).ping())).kind).toBe("refused");
    expect(upstream.requests.length).toBe(before);
    const allowed = new FakeUpstream({ origin: "http://127.0.0.1:5000", auth: "none" }).install();
    expect(await upstreamRegistry({ ALLOW_PRIVATE_OUTBOUND: "127.0.0.1:5000" }, local).ping()).toBe("anonymous");
    expect(allowed.requests.map((r) => r.url)).toEqual(["http://127.0.0.1:5000/v2/"]);
  });
});

describe("upstreamRegistry: manifests", () => {
  it("refuses bytes that do not match Docker-Content-Digest or the digest asked for, and manifests over 4 MiB", async () => {
    const upstream = new FakeUpstream({ auth: "none" }).install();
    const image = await upstream.putImage("app", "v1");
    const registry = upstreamRegistry(NO_ENV, CONFIG);
    const other = await sha256(new TextEncoder().encode("other"));
    upstream.intercept = () =>
      new Response(image.bytes, { headers: { "Docker-Content-Digest": other, "Content-Type": "application/json" } });
    expect((await failure(registry.getManifest("app", "v1"))).kind).toBe("protocol");
    upstream.intercept = () => new Response(new TextEncoder().encode("{}"));
    expect((await failure(registry.getManifest("app", image.digest))).kind).toBe("protocol");
    upstream.intercept = () => new Response(new Uint8Array(4 * 1024 * 1024 + 1));
    expect((await failure(registry.getManifest("app", "v1"))).kind).toBe("too-large");
    upstream.intercept = () => new Response(null, { status: 503 });
    expect((await failure(registry.getManifest("app", "v1"))).kind).toBe("unreachable");
    // A generic Content-Type: the manifest's own mediaType says what it is.
    upstream.intercept = () => new Response(image.bytes, { headers: { "Content-Type": "application/json" } });
    expect((await registry.getManifest("app", "v1"))?.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    upstream.intercept = null;
    expect(await registry.getManifest("app", "missing")).toBeNull();
    expect(await registry.headManifest("nothing", "v1")).toBeNull();
    // By digest, the bytes are the content asked for.
    expect((await registry.getManifest("app", image.digest))?.digest).toBe(image.digest);
  });

  it("refuses names and references that are not the grammar's, without a request", async () => {
    const upstream = new FakeUpstream({ auth: "none" }).install();
    const registry = upstreamRegistry(NO_ENV, CONFIG);
    for (const [name, ref] of [
      ["../x", "v1"],
      ["app", "../../v2"],
      ["app", "md5:abc"],
      ["App", "v1"],
    ] as const)
      expect((await failure(registry.getManifest(name, ref))).kind, `${name}:${ref}`).toBe("refused");
    for (const host of ["a.example/evil", "user@a.example", "a.example?x", "a.example\\x", "", "a.example:99999"])
      expect((await failure(upstreamRegistry(NO_ENV, { host, insecure: false }).ping())).kind, host).toBe("refused");
    expect(upstream.requests).toEqual([]);
    expect(registryBase({ host: "Registry.Example:443", insecure: false })).toBe("https://registry.example");
    expect(registryBase({ host: "127.0.0.1:5000", insecure: true })).toBe("http://127.0.0.1:5000");
    expect(registryBase({ host: "[::1]:5000", insecure: true })).toBe("http://[::1]:5000");
  });

  it("reaches Docker Hub at its API host, official images under library/", async () => {
    const upstream = new FakeUpstream({
      origin: "https://registry-1.docker.io",
      anonymousPull: true,
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
    }).install();
    const image = await upstream.putImage("library/alpine", "3");
    await upstream.putImage("someone/tool", "1");
    const hub = upstreamRegistry(NO_ENV, { host: "docker.io", insecure: false });
    expect((await hub.headManifest("alpine", "3"))?.digest).toBe(image.digest);
    expect(await hub.listTags("someone/tool")).toEqual(["1"]);
    const scopes = upstream.requests
      .filter((r) => r.url.startsWith("https://auth.docker.io/"))
      .map((r) => new URL(r.url).searchParams.get("scope"));
    expect(scopes).toEqual(["repository:library/alpine:pull", "repository:someone/tool:pull"]);
  });
});

describe("upstreamRegistry: tags", () => {
  it("follows Link pagination to the end, and refuses a next page on another origin", async () => {
    const upstream = new FakeUpstream({ auth: "none", tagPageSize: 2 }).install();
    for (const tag of ["a", "b", "c", "d", "e"]) await upstream.putImage("app", tag);
    const registry = upstreamRegistry(NO_ENV, CONFIG);
    expect(await registry.listTags("app")).toEqual(["a", "b", "c", "d", "e"]);
    expect(upstream.count("GET", "/v2/app/tags/list")).toBe(3);
    expect(await registry.listTags("nothing")).toBeNull();
    upstream.intercept = (r) =>
      new URL(r.url).search === ""
        ? Response.json(
            { tags: ["a"] },
            { headers: { Link: '<https://elsewhere.example/v2/app/tags/list?last=a>; rel="next"' } },
          )
        : undefined;
    expect((await failure(registry.listTags("app"))).kind).toBe("protocol");
    // A registry whose pages never end is cut off.
    upstream.intercept = (r) =>
      Response.json(
        { tags: ["t"] },
        { headers: { Link: `<${new URL(r.url).pathname}?last=${r.url.length}>; rel="next"` } },
      );
    expect((await failure(registry.listTags("app"))).kind).toBe("too-large");
  });
});
