/**
 * Pulls counted through the Worker (src/registry/pull-counts.ts): each manifest GET answered 200
 * yields one record with who pulled what, from where and when; records leave in a batch on the
 * EVENTS queue; the pull itself writes nothing to D1 and calls no Durable Object. HEADs, misses
 * and blob reads are not pulls.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index";
import type { TokenSubject } from "../../../src/identity/registry-tokens";
import { FLUSH_AT_PULLS, type PullsMessage } from "../../../src/registry/pull-counts";
import { isRead, observedEnv, type Observed } from "../helpers/observed-env";
import { BASE, OCI_MANIFEST, pushImage, registryToken, uniqueName } from "../helpers/registry";

/** A request through the Worker with the observed bindings; returns it once answered, with what it left to do after. */
async function send(observed: Observed, method: string, path: string, subject: TokenSubject, headers = {}) {
  const name = path.split("/").slice(2, 4).join("/");
  const token = await registryToken([{ type: "repository", name, actions: ["pull"] }], subject);
  const after: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => void after.push(p), passThroughOnException() {}, props: {} };
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: OCI_MANIFEST, ...headers },
    }) as Parameters<typeof worker.fetch>[0],
    observed.env,
    ctx as unknown as ExecutionContext,
  );
  await res.arrayBuffer();
  return { status: res.status, after };
}

describe("pull counting", () => {
  it("records one pull per manifest GET, sends them as one batch when full, and writes nothing on the way", async () => {
    const name = uniqueName("pulls");
    const image = await pushImage(name, "v1");
    // Metrics batched with the production span (the workerd tests send them after every response).
    const observed = observedEnv({ ...env, METRICS_FLUSH_SECONDS: "10" } as Env);
    observed.reset();
    const robot = { kind: "user", name: `${name.split("/")[0]}+ci`, id: 4242 } as const;

    // Not pulls: a HEAD, a miss, a blob read.
    expect((await send(observed, "HEAD", `/v2/${name}/manifests/v1`, robot)).status).toBe(200);
    expect((await send(observed, "GET", `/v2/${name}/manifests/v2`, robot)).status).toBe(404);
    expect((await send(observed, "GET", `/v2/${name}/blobs/${image.config}`, robot)).status).toBe(200);

    let last: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < FLUSH_AT_PULLS; i++) {
      const byDigest = i === FLUSH_AT_PULLS - 1;
      const subject: TokenSubject = i % 2 === 0 ? robot : { kind: "anonymous" };
      last = await send(observed, "GET", `/v2/${name}/manifests/${byDigest ? image.digest : "v1"}`, subject, {
        "CF-Connecting-IP": `198.51.100.${i}`,
      });
      expect(last.status).toBe(200);
      if (!byDigest) expect(observed.queueCalls).toEqual([]);
    }
    // The full batch left after the last response, through waitUntil (the first pull's timer
    // is still armed, and finds nothing when it goes off).
    await Promise.all(last!.after);

    expect(observed.queueCalls).toEqual(["sendBatch"]);
    const messages = observed.queued as PullsMessage[];
    expect(messages).toHaveLength(1);
    const pulls = messages[0]!.pulls;
    expect(pulls).toHaveLength(FLUSH_AT_PULLS);
    const repositoryId = pulls[0]!.repositoryId;
    expect(pulls[0]).toEqual({
      repositoryId,
      repository: name,
      namespace: name.split("/")[0],
      digest: image.digest,
      tag: "v1",
      actor: { kind: "robot", name: robot.name, id: robot.id },
      clientIp: "198.51.100.0",
      at: expect.any(Number),
    });
    expect(pulls[1]!.actor).toEqual({ kind: "anonymous" });
    expect(pulls.at(-1)).toMatchObject({
      tag: null,
      digest: image.digest,
      clientIp: `198.51.100.${FLUSH_AT_PULLS - 1}`,
    });
    expect(pulls.map((p) => p.clientIp)).toEqual(Array.from({ length: FLUSH_AT_PULLS }, (_, i) => `198.51.100.${i}`));
    expect(pulls.every((p) => p.repositoryId === repositoryId && p.at <= Date.now())).toBe(true);

    // One D1 read per pull by tag (and 1 + 4 + 1 for the HEAD, the miss and the blob: the pull-only
    // token's miss is asked of a replica, then of the primary, src/middleware/db-session.ts), none
    // for the last, by digest: the tag's answer is a cached fact for these pull-only tokens
    // (src/registry/pull-cache.ts). No write, no Durable Object.
    expect(observed.d1).toHaveLength(FLUSH_AT_PULLS - 1 + 6);
    expect(observed.d1.filter((statement) => !isRead(statement))).toEqual([]);
    expect(observed.durableObjects).toEqual([]);
  });
});
