/**
 * Workload 2: one blob pushed over raw HTTP as a chunked upload: POST, PATCH chunks with
 * Content-Range, PUT ?digest=. Distribution 2.8 ignores Content-Range but takes sequential
 * PATCHes, so both registries see the same requests. A fresh blob each round: a registry that
 * already has the digest may short-cut the final PUT. After each round, against Wharf, a smaller
 * blob the same way with the Worker isolate profiled (bench/lib/isolate.ts): its CPU per GiB.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { sendFileRange, writeRandomFile } from "../../test/e2e/helpers/blob-file";
import { track } from "../lib/measure";
import { productionSamples } from "../lib/production-cost";
import { authHeaders, call } from "../lib/registry";
import type { Context, Target, Workload } from "../lib/workload";
import { label } from "./skopeo-image";

export default function chunkedBlob({ sizes, tmp }: Context): Workload {
  const { blobBytes: size, chunkBytes: chunk, profiledBytes } = sizes;
  const file = path.join(tmp, "blob");
  let digest = "";
  return {
    title: `chunked push of a ${label(size)} blob in ${label(chunk)} PATCHes`,
    async beforeRound() {
      await rm(file, { force: true });
      digest = await writeRandomFile(file, size);
    },
    async run(target: Target, round: number) {
      const start = performance.now();
      await pushChunked(target.url, `bench/chunked-${round}`, file, size, chunk, digest);
      const seconds = (performance.now() - start) / 1000;
      return {
        bytes: size,
        samples: [{ figure: "push", unit: "MB/s", value: size / 1e6 / seconds, better: "higher" }],
      };
    },
    async afterRun(target: Target, round: number) {
      if (!target.isolate) return { samples: [] };
      const small = path.join(tmp, "profiled");
      await rm(small, { force: true });
      const smallDigest = await writeRandomFile(small, profiledBytes);
      const repo = `bench/chunked-profiled-${round}`;
      const push = await track(
        target.pid,
        () => pushChunked(target.url, repo, small, profiledBytes, chunk, smallDigest),
        target.isolate,
        { profile: true },
      );
      await rm(small, { force: true });
      const prefix = `profiled pass, ${label(profiledBytes)} in ${label(chunk)} PATCHes: `;
      return { samples: productionSamples(prefix, push.cost, { bytes: profiledBytes }) };
    },
  };
}

async function pushChunked(base: string, repo: string, file: string, size: number, chunk: number, digest: string) {
  let location = new URL((await call("POST", `${base}/v2/${repo}/blobs/uploads/`, 202)).headers.get("Location")!, base);
  for (let offset = 0; offset < size; offset += chunk) {
    const end = Math.min(size, offset + chunk) - 1;
    const res = await sendFileRange(
      "PATCH",
      location.href,
      file,
      { start: offset, end },
      {
        ...(await authHeaders(location.href)),
        "Content-Type": "application/octet-stream",
        "Content-Range": `${offset}-${end}`,
      },
    );
    if (res.status !== 202) throw new Error(`PATCH ${offset}-${end}: ${res.status} ${res.body.slice(0, 300)}`);
    location = new URL(String(res.headers.location), location);
  }
  location.searchParams.set("digest", digest);
  const done = await call("PUT", location.href, 201);
  if (done.headers.get("Docker-Content-Digest") !== digest)
    throw new Error(`PUT answered digest ${done.headers.get("Docker-Content-Digest")}`);
}
