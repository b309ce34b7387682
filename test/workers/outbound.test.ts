/**
 * The one outbound-request guard (src/lib/outbound.ts): it refuses before fetching, never follows
 * a redirect to another origin, bounds each request with a timeout, and caps what a caller
 * buffers. The network is a spy on the Worker's fetch. Issue #12, item 3.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { guardedFetch, OutboundError, readCapped } from "../../src/lib/outbound";

const NO_ENV = {};
type Call = { url: string; init: RequestInit };

/** Answers fetches from `answer` and records them. */
function network(answer: (url: string, init: RequestInit) => Response | Promise<Response>): Call[] {
  const calls: Call[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, init: init ?? {} });
    return answer(url, init ?? {});
  });
  return calls;
}

async function refusal(promise: Promise<unknown>): Promise<OutboundError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
}

afterEach(() => vi.restoreAllMocks());

describe("guardedFetch", () => {
  it("refuses loopback, private and link-local hosts and other schemes without making a request", async () => {
    const calls = network(() => new Response("should not be asked"));
    for (const url of [
      "http://127.0.0.1:8080/",
      "http://10.0.0.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/",
      "http://0x7f000001/",
      "http://localhost:3000/",
      "ftp://8.8.8.8/",
      "not a url",
    ]) {
      const err = await refusal(guardedFetch(NO_ENV, url));
      expect(err.kind, url).toBe("refused");
    }
    expect(calls).toEqual([]);
  });

  it("fetches a public URL once, manual redirects, with a timeout signal, method, headers and body", async () => {
    const calls = network(() => Response.json({ ok: true }));
    const res = await guardedFetch(NO_ENV, "https://hooks.example.com/x?y=1", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    expect(await res.json()).toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe("https://hooks.example.com/x?y=1");
    expect(calls[0]!.init).toMatchObject({ method: "POST", body: "{}", redirect: "manual" });
    expect(new Headers(calls[0]!.init.headers).get("Content-Type")).toBe("application/json");
    expect(calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
  });

  it("reaches a private receiver that ALLOW_PRIVATE_OUTBOUND names", async () => {
    const calls = network(() => new Response("hello"));
    const env = { ALLOW_PRIVATE_OUTBOUND: "127.0.0.1:8080 10.0.0.0/8" };
    expect(await (await guardedFetch(env, "http://127.0.0.1:8080/a")).text()).toBe("hello");
    expect(await (await guardedFetch(env, "http://10.1.2.3:9/b")).text()).toBe("hello");
    expect((await refusal(guardedFetch(env, "http://127.0.0.1:8081/"))).kind).toBe("refused");
    expect((await refusal(guardedFetch({ ALLOW_PRIVATE_OUTBOUND: "true" }, "ftp://127.0.0.1/"))).kind).toBe("refused");
    expect(await (await guardedFetch({ ALLOW_PRIVATE_OUTBOUND: "true" }, "http://[::1]:1/")).text()).toBe("hello");
    expect(calls.map((c) => c.url)).toEqual(["http://127.0.0.1:8080/a", "http://10.1.2.3:9/b", "http://[::1]:1/"]);
  });

  it("follows a few redirects within the origin, each checked, and no redirect elsewhere", async () => {
    const hops: Record<string, Response | (() => Response)> = {
      "https://idp.example/a": () => new Response(null, { status: 301, headers: { Location: "/b" } }),
      "https://idp.example/b": () =>
        new Response(null, { status: 307, headers: { Location: "https://IDP.example:443/c?x=1" } }),
      "https://idp.example/c?x=1": () => new Response("arrived"),
      "https://idp.example/loop": () => new Response(null, { status: 302, headers: { Location: "/loop" } }),
      "https://idp.example/away": () =>
        new Response(null, { status: 302, headers: { Location: "https://evil.example/" } }),
      "https://idp.example/inside": () =>
        new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } }),
      "https://idp.example/downgrade": () =>
        new Response(null, { status: 308, headers: { Location: "http://idp.example/c" } }),
      "https://idp.example/port": () =>
        new Response(null, { status: 302, headers: { Location: "https://idp.example:8443/c" } }),
      "https://idp.example/nowhere": () => new Response("no location", { status: 302 }),
    };
    const calls = network((url) => {
      const hop = hops[url];
      return typeof hop === "function" ? hop() : new Response("unexpected", { status: 599 });
    });
    expect(await (await guardedFetch(NO_ENV, "https://idp.example/a")).text()).toBe("arrived");
    expect(calls.map((c) => c.url)).toEqual([
      "https://idp.example/a",
      "https://idp.example/b",
      "https://idp.example/c?x=1",
    ]);
    expect(calls.every((c) => c.init.redirect === "manual")).toBe(true);

    calls.length = 0;
    expect((await refusal(guardedFetch(NO_ENV, "https://idp.example/loop"))).message).toMatch(/too many redirects/);
    expect(calls).toHaveLength(4); // the request and three redirects
    for (const path of ["away", "inside", "downgrade", "port"]) {
      calls.length = 0;
      const err = await refusal(guardedFetch(NO_ENV, `https://idp.example/${path}`));
      expect(err.kind, path).toBe("redirect");
      expect(calls.map((c) => c.url)).toEqual([`https://idp.example/${path}`]);
    }
    // A redirect without a Location is an answer like any other.
    expect((await guardedFetch(NO_ENV, "https://idp.example/nowhere")).status).toBe(302);
    // A request with a body is never sent again.
    calls.length = 0;
    expect((await refusal(guardedFetch(NO_ENV, "https://idp.example/a", { method: "POST", body: "x" }))).kind).toBe(
      "redirect",
    );
    expect(calls).toHaveLength(1);
  });

  it("gives up when the timeout's signal fires, and reports a failed connection", async () => {
    const calls = network(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          init.signal!.addEventListener("abort", () => reject(init.signal!.reason));
        }),
    );
    const err = await refusal(guardedFetch(NO_ENV, "https://slow.example/", { timeoutMs: 1 }));
    expect(err.kind).toBe("timeout");
    expect(calls).toHaveLength(1);
    vi.restoreAllMocks();
    network(() => Promise.reject(new TypeError("connection refused")));
    const failed = await refusal(guardedFetch(NO_ENV, "https://down.example/"));
    expect(failed.kind).toBe("failed");
    expect(failed.message).toMatch(/connection refused/);
  });
});

describe("guardedFetch for long streams from registries (src/upstream/client.ts)", () => {
  it("follows redirects to other origins only when asked, each hop checked, the Authorization left behind", async () => {
    const hops: Record<string, () => Response> = {
      "https://registry.example/v2/a/blobs/x": () =>
        new Response(null, { status: 307, headers: { Location: "https://cdn.example/x?sig=1" } }),
      "https://cdn.example/x?sig=1": () => new Response(null, { status: 302, headers: { Location: "/y" } }),
      "https://cdn.example/y": () => new Response("bytes"),
      "https://registry.example/private": () =>
        new Response(null, { status: 302, headers: { Location: "https://10.0.0.1/x" } }),
      "https://registry.example/downgrade": () =>
        new Response(null, { status: 302, headers: { Location: "http://cdn.example/y" } }),
    };
    const calls = network((url) => hops[url]?.() ?? new Response("unexpected", { status: 599 }));
    const init = { headers: { Authorization: "Bearer secret", Accept: "*/*" }, crossOriginRedirects: true };
    const res = await guardedFetch(NO_ENV, "https://registry.example/v2/a/blobs/x", init);
    expect(await res.text()).toBe("bytes");
    const authorizations = calls.map((c) => [c.url, new Headers(c.init.headers).get("Authorization")]);
    expect(authorizations).toEqual([
      ["https://registry.example/v2/a/blobs/x", "Bearer secret"],
      ["https://cdn.example/x?sig=1", null],
      ["https://cdn.example/y", null],
    ]);
    expect(calls.every((c) => new Headers(c.init.headers).get("Accept") === "*/*")).toBe(true);
    // Without the opt-in, as before: refused.
    const plain = await refusal(
      guardedFetch(NO_ENV, "https://registry.example/v2/a/blobs/x", { headers: init.headers }),
    );
    expect(plain.kind).toBe("redirect");
    calls.length = 0;
    expect((await refusal(guardedFetch(NO_ENV, "https://registry.example/private", init))).kind).toBe("refused");
    expect((await refusal(guardedFetch(NO_ENV, "https://registry.example/downgrade", init))).kind).toBe("redirect");
    expect(calls.map((c) => c.url)).toEqual(["https://registry.example/private", "https://registry.example/downgrade"]);
  });

  it("bounds the wait for headers and each silence of the body, not the whole stream", async () => {
    const streamTimeouts = { headersMs: 50, idleMs: 50 };
    network(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          init.signal!.addEventListener("abort", () => reject(init.signal!.reason));
        }),
    );
    expect((await refusal(guardedFetch(NO_ENV, "https://slow.example/", { streamTimeouts }))).kind).toBe("timeout");
    vi.restoreAllMocks();

    // A body that sends a chunk every 30 ms for 300 ms outlives both timeouts; a silence of 200 ms does not.
    const dripping = (gaps: number[]) =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          const gap = gaps.shift();
          if (gap === undefined) return controller.close();
          await new Promise((resolve) => setTimeout(resolve, gap));
          controller.enqueue(new Uint8Array(1000));
        },
      });
    network(() => new Response(dripping(Array(10).fill(30)), { headers: { "Content-Length": "10000" } }));
    const res = await guardedFetch(NO_ENV, "https://steady.example/", { streamTimeouts });
    expect(res.headers.get("Content-Length")).toBe("10000");
    // A byte stream: readers that fill their own buffers can read it.
    const reader = res.body!.getReader({ mode: "byob" });
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(4096));
      if (done) break;
      total += value.byteLength;
    }
    expect(total).toBe(10_000);
    vi.restoreAllMocks();
    network(() => new Response(dripping([0, 200, 0])));
    const stalled = await guardedFetch(NO_ENV, "https://stalled.example/", { streamTimeouts });
    const err = await stalled.arrayBuffer().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutboundError);
    expect((err as OutboundError).kind).toBe("timeout");
  });
});

describe("readCapped", () => {
  /** A body of `chunks` chunks of `size` bytes that records whether it was cancelled. */
  function body(chunks: number, size: number, headers: HeadersInit = {}) {
    const state = { pulled: 0, cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.pulled++ === chunks) controller.close();
        else controller.enqueue(new Uint8Array(size));
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return { res: new Response(stream, { headers }), state };
  }

  it("reads a body within the cap", async () => {
    expect((await readCapped(new Response("{}"), 10)).byteLength).toBe(2);
    expect((await readCapped(body(4, 1000).res, 4000)).byteLength).toBe(4000);
  });

  it("refuses a declared or streamed body over the cap and stops reading it", async () => {
    const declared = body(100, 1000, { "Content-Length": "100000" });
    expect((await refusal(readCapped(declared.res, 4096))).kind).toBe("too-large");
    expect(declared.state.pulled).toBeLessThanOrEqual(1);
    expect(declared.state.cancelled).toBe(true);
    const streamed = body(100, 1000);
    expect((await refusal(readCapped(streamed.res, 4096))).kind).toBe("too-large");
    expect(streamed.state.pulled).toBeLessThan(10);
    expect(streamed.state.cancelled).toBe(true);
  });
});

describe("the test pool's outbound service (scripts/outbound-service.ts)", () => {
  it("refuses, as npm start does, what leaves the Worker for a host that is not public", async () => {
    for (const url of [
      "http://127.0.0.1:1/",
      "http://localhost:1/",
      "http://[::1]:1/",
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(502);
      expect(await res.text(), url).toMatch(/^outbound request refused: /);
    }
  });
});
