/**
 * The upstream harness of the proxy-cache and mirroring tests (helpers/upstream-registries.ts)
 * works: docker-registry open and behind Basic auth, a second Wharf that demands a token, images
 * put there with chosen tags, and a counting proxy that counts and can make its upstream vanish.
 * Wharf's upstream client (src/upstream/client.ts, plain fetch and Web Crypto, so Node runs it as
 * workerd does) is driven against each: the token dance and Basic against real registries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Digest } from "../../src/lib/digest";
import type { UpstreamConfig, UpstreamError, UpstreamRegistry } from "../../src/upstream/registry";
import { skopeoInspectRaw } from "./helpers/clients";
import { sha256 } from "./helpers/oci-layout";
import {
  type CountingProxy,
  putTestImage,
  startCountingProxy,
  startDistributionUpstream,
  startWharfUpstream,
  type Upstream,
} from "./helpers/upstream-registries";

/**
 * The client as the Worker has it, loaded when the file runs: a static import would take the
 * Worker's modules (typed for workerd) into the Node typecheck of the e2e suite.
 */
const CLIENT_MODULE = "../../src/upstream/client.ts";
const { upstreamRegistry } = (await import(/* @vite-ignore */ CLIENT_MODULE)) as {
  upstreamRegistry(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, config: UpstreamConfig): UpstreamRegistry;
};

/** The client reaches loopback only with the allowance a Wharf configured for it would have. */
const clientFor = (upstream: Pick<Upstream, "host" | "credentials">) =>
  upstreamRegistry(
    { ALLOW_PRIVATE_OUTBOUND: upstream.host },
    { host: upstream.host, insecure: true, credentials: upstream.credentials },
  );

async function failureOf(promise: Promise<unknown>): Promise<UpstreamError> {
  return promise.then(
    () => expect.fail("expected a failure"),
    (e: unknown) => e as UpstreamError,
  );
}

describe("docker-registry as an upstream", () => {
  let open: Upstream;
  let basic: Upstream;
  beforeAll(async () => {
    [open, basic] = await Promise.all([startDistributionUpstream(), startDistributionUpstream({ auth: "htpasswd" })]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), basic?.stop()]);
  });

  it("takes test images under chosen tags, and the client reads them back", async () => {
    const pushed = await putTestImage(open, "team/app", ["1.0", "latest"]);
    const client = clientFor(open);
    expect(await client.ping()).toBe("anonymous");
    expect((await client.listTags("team/app"))?.sort()).toEqual(["1.0", "latest"]);
    const manifest = await client.getManifest("team/app", "1.0");
    expect(manifest?.digest).toBe(pushed.digest);
    expect(Buffer.from(manifest!.bytes)).toEqual(await skopeoInspectRaw(`docker://${open.host}/team/app:latest`));
    const layer = JSON.parse(Buffer.from(manifest!.bytes).toString()).layers[0] as { digest: Digest; size: number };
    const blob = await client.getBlob("team/app", layer.digest);
    const bytes = new Uint8Array(await new Response(blob!.body).arrayBuffer());
    expect([blob!.size, sha256(bytes)]).toEqual([layer.size, layer.digest]);
    expect(await client.getManifest("team/app", "missing")).toBeNull();
  });

  it("behind htpasswd, demands Basic credentials", async () => {
    const anonymous = await fetch(`${basic.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    const pushed = await putTestImage(basic, "private/app", ["v1"]);
    expect(await clientFor(basic).ping()).toBe("valid");
    expect((await clientFor(basic).headManifest("private/app", "v1"))?.digest).toBe(pushed.digest);
    expect((await failureOf(clientFor({ host: basic.host }).headManifest("private/app", "v1"))).kind).toBe(
      "unauthorized",
    );
  });
});

describe("a second Wharf as an upstream", () => {
  let wharf: Upstream;
  beforeAll(async () => {
    wharf = await startWharfUpstream("upstream");
  });
  afterAll(async () => wharf?.stop());

  it("demands a token, which the client gets with the credentials at the realm", async () => {
    const pushed = await putTestImage(wharf, "upstream/app", ["v1", "v2"]);
    const anonymous = await fetch(`${wharf.url}/v2/upstream/app/manifests/v1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/v2\/auth"/);
    const client = clientFor(wharf);
    expect(await client.ping()).toBe("valid");
    expect((await client.getManifest("upstream/app", "v2"))?.digest).toBe(pushed.digest);
    expect((await client.listTags("upstream/app"))?.sort()).toEqual(["v1", "v2"]);
    // Without credentials the private repository is not there for the client (Quay's answer to a stranger).
    const stranger = clientFor({ host: wharf.host });
    expect(await stranger.ping()).toBe("anonymous");
    const refused = await stranger.getManifest("upstream/app", "v1").then(
      (found) => found,
      (e: UpstreamError) => e.kind,
    );
    expect([null, "unauthorized"]).toContain(refused);
  });
});

describe("the counting proxy", () => {
  let upstream: Upstream;
  let proxy: CountingProxy;
  beforeAll(async () => {
    upstream = await startDistributionUpstream();
    proxy = await startCountingProxy(upstream.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.stop();
  });

  it("counts GETs per path, answers failures on demand, and makes the upstream unreachable while stopped", async () => {
    const pushed = await putTestImage(upstream, "lib/counted", ["v1"]);
    const client = clientFor(proxy);
    const manifest = await client.getManifest("lib/counted", "v1");
    expect(manifest?.digest).toBe(pushed.digest);
    const { layers } = JSON.parse(Buffer.from(manifest!.bytes).toString()) as { layers: Array<{ digest: Digest }> };
    for (let i = 0; i < 2; i++)
      await new Response((await client.getBlob("lib/counted", layers[0]!.digest))!.body).arrayBuffer();
    expect(proxy.count("GET", "/v2/lib/counted/manifests/v1")).toBe(1);
    expect(proxy.count("GET", `/v2/lib/counted/blobs/${layers[0]!.digest}`)).toBe(2);
    expect(proxy.count("GET", `/v2/lib/counted/blobs/${layers[1]!.digest}`)).toBe(0);
    expect(proxy.count("GET", "/v2/lib/counted/*")).toBe(3);

    proxy.failWith(503);
    expect((await failureOf(client.getManifest("lib/counted", "v1"))).kind).toBe("unreachable");
    proxy.failWith(null);

    await proxy.stop();
    await expect(fetch(`${proxy.url}/v2/`)).rejects.toThrow();
    expect((await failureOf(client.headManifest("lib/counted", "v1"))).kind).toBe("unreachable");
    await proxy.start();
    expect((await client.headManifest("lib/counted", "v1"))?.digest).toBe(pushed.digest);
    proxy.reset();
    expect(proxy.requests).toEqual([]);
  });
});
