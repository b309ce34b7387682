/**
 * Workload 8: pulls through a proxy cache (issue #16). An upstream Debian docker-registry on
 * loopback, behind the counting proxy of test/e2e/helpers/upstream-registries.ts, holds fresh
 * single-layer images each round. Wharf's side is a proxy-cache organization pointing at it;
 * the reference's side is a second docker-registry configured as a pull-through cache of it
 * (distribution's `proxy: remoteurl:`), started here in place of the plain reference. For each,
 * over raw HTTP (manifest, then its layer, the bytes checked against the digest):
 *
 * - a cold pull (nothing cached): time to the layer's first byte and to its last, from the
 *   manifest request's start;
 * - a warm pull of the same image right after;
 * - ten concurrent cold pulls of another fresh image: wall time, and how many times the upstream
 *   was asked for its layer (the counting proxy's GETs).
 *
 * The same pull straight from the upstream, before each side's cold pull, is the context: what a
 * client would wait without any cache in between.
 */
import { createHash } from "node:crypto";
import { apiCall } from "../../test/e2e/helpers/api-calls";
import { startReferenceRegistry, type ReferenceRegistry } from "../../test/e2e/helpers/reference-registry";
import {
  type CountingProxy,
  putTestImage,
  startCountingProxy,
  startDistributionUpstream,
  type Upstream,
} from "../../test/e2e/helpers/upstream-registries";
import { MediaTypes } from "../../test/e2e/helpers/oci-layout";
import type { Context, Outcome, Sample, Target, Workload } from "../lib/workload";
import { label } from "./skopeo-image";

/** The proxy-cache organization on Wharf, and the user (a member of it) who pulls. */
const ORG = "pcache";
const PULLER = "bench";
const CROWD = 10;
const ACCEPT = [MediaTypes.manifest, "application/vnd.docker.distribution.manifest.v2+json"].join(", ");

interface Pull {
  firstByteMs: number;
  totalMs: number;
}

/** GET of `url` read to the end: status checked, time to the first body byte and to the last, sha256. */
async function timedGet(url: string, headers: Record<string, string>, start: number) {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  let firstByteMs = -1;
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (firstByteMs < 0) firstByteMs = performance.now() - start;
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (bytes <= 1024 * 1024) chunks.push(Buffer.from(chunk));
  }
  return { firstByteMs, totalMs: performance.now() - start, digest: `sha256:${hash.digest("hex")}`, chunks };
}

/**
 * One pull of `repository:tag` from the registry at `base` (`/v2/<prefix><repository>`): its
 * manifest, then its one layer, checked against the manifest's digest.
 */
async function pull(base: string, prefix: string, repository: string, headers: Record<string, string>): Promise<Pull> {
  const start = performance.now();
  const manifest = await timedGet(
    `${base}/v2/${prefix}${repository}/manifests/1`,
    { ...headers, Accept: ACCEPT },
    start,
  );
  const { layers } = JSON.parse(Buffer.concat(manifest.chunks).toString()) as { layers: Array<{ digest: string }> };
  const layer = layers[0]!.digest;
  const blob = await timedGet(`${base}/v2/${prefix}${repository}/blobs/${layer}`, headers, start);
  if (blob.digest !== layer) throw new Error(`${base} ${repository}: the layer read as ${blob.digest}, not ${layer}`);
  return { firstByteMs: blob.firstByteMs, totalMs: blob.totalMs };
}

export default function proxyCache({ sizes, wharf }: Context): Workload {
  const size = sizes.proxyLayerBytes;
  let upstream: (Upstream & { registry: ReferenceRegistry }) | null = null;
  let counting: CountingProxy | null = null;
  let referenceCache: ReferenceRegistry | null = null;
  const layerOf = new Map<string, string>();
  const repos = (round: number) => ({ single: `bench/pc-${round}`, crowd: `bench/crowd-${round}` });

  /** Headers and path prefix of `target`'s cache: Wharf's organization with a member's token, or the reference. */
  const viaCache = async (
    target: Target,
    repository: string,
  ): Promise<{ prefix: string; headers: Record<string, string> }> =>
    target.side === "wharf"
      ? {
          prefix: `${ORG}/`,
          headers: {
            Authorization: `Bearer ${await wharf!.login.token(PULLER, [`repository:${ORG}/${repository}:pull`])}`,
          },
        }
      : { prefix: "", headers: {} };

  return {
    title: `pull through a proxy cache of a ${label(size)} single-layer image (cold, warm, ${CROWD} concurrent cold)`,
    async prepare(targets: Target[]): Promise<Target[]> {
      if (!wharf) throw new Error("the proxy-cache workload needs the Wharf target's admin and upstream port");
      upstream = await startDistributionUpstream();
      counting = await startCountingProxy(upstream.url, { port: wharf.upstreamPort });
      referenceCache = await startReferenceRegistry({ proxy: { remoteurl: counting.url } });
      const admin = wharf.adminToken;
      await wharf.credentialsFor(PULLER);
      await apiCall(wharf.url, admin, "POST", "/organization/", { name: ORG, email: `${ORG}@example.com` });
      await apiCall(wharf.url, admin, "PUT", `/organization/${ORG}/team/readers`, { role: "member" });
      await apiCall(wharf.url, admin, "PUT", `/organization/${ORG}/team/readers/members/${PULLER}`);
      await apiCall(wharf.url, admin, "POST", `/organization/${ORG}/proxycache`, {
        upstream_registry: counting.host,
        insecure: true,
      });
      return targets.map((t) =>
        t.side === "reference" ? { side: "reference", url: referenceCache!.url, pid: referenceCache!.pid } : t,
      );
    },
    async beforeRound(round) {
      for (const repository of Object.values(repos(round))) {
        const { image } = await putTestImage(upstream!, repository, ["1"], { layers: 1, layerSize: () => size });
        if (!("layers" in image)) throw new Error("expected a single-platform image");
        layerOf.set(repository, image.layers[0]!.digest);
      }
    },
    async run(target: Target, round: number): Promise<Outcome> {
      const samples: Sample[] = [];
      const add = (figure: string, value: number, unit = "ms") =>
        samples.push({ figure, unit, value, better: "lower" });
      const { single, crowd } = repos(round);

      const direct = await pull(upstream!.url, "", single, {});
      add("context: straight from the upstream, layer first byte", direct.firstByteMs);
      add("context: straight from the upstream, total", direct.totalMs);
      const cache = await viaCache(target, single);
      const cold = await pull(target.url, cache.prefix, single, cache.headers);
      add("cold pull: layer first byte", cold.firstByteMs);
      add("cold pull: total", cold.totalMs);
      const warm = await pull(target.url, cache.prefix, single, cache.headers);
      add("warm pull: layer first byte", warm.firstByteMs);
      add("warm pull: total", warm.totalMs);

      const crowdCache = await viaCache(target, crowd);
      counting!.reset();
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CROWD }, () => pull(target.url, crowdCache.prefix, crowd, crowdCache.headers)),
      );
      add(`${CROWD} concurrent cold pulls: wall time`, performance.now() - start);
      add(
        `${CROWD} concurrent cold pulls: upstream GETs of the layer`,
        counting!.count("GET", `/v2/${crowd}/blobs/${layerOf.get(crowd)}`),
        "count",
      );
      add(
        `${CROWD} concurrent cold pulls: upstream GETs of the manifest`,
        counting!.count("GET", `/v2/${crowd}/manifests/*`),
        "count",
      );
      return {
        samples,
        bytes: size * (2 + CROWD),
        requests: 2 * (2 + CROWD),
        notes: [
          "The reference is a second docker-registry configured as a pull-through cache (`proxy: remoteurl:`) of the same upstream; the upstream is a third, on loopback, behind a counting HTTP proxy. Server CPU and memory are the cache's (Wharf's, or the pull-through docker-registry's), not the upstream's.",
          "Wharf fills first: a cold blob's first byte waits until the whole blob is in R2, which under `npm start` is Miniflare's local R2 simulator writing to disk, so Wharf's cold first byte and total are bound by the local simulator's write speed; docker-registry streams the upstream's bytes to the client while it stores them.",
          "Context rows are the same pull straight from the upstream, run before each side's cold pull: their ratio only shows the machine's drift.",
        ],
      };
    },
    async cleanup() {
      await Promise.allSettled([counting?.close(), referenceCache?.stop(), upstream?.stop()]);
    },
  };
}
