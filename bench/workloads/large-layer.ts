/**
 * Workload 11: one large layer (256 MiB in full mode) pushed the two ways clients do, then pulled
 * by a plain blob GET: as docker and podman push (POST, one PATCH streaming the bytes without a
 * Content-Length, PUT ?digest=), which Wharf keeps as an R2 multipart object, and monolithically
 * (POST, then PUT ?digest= carrying the bytes with their Content-Length). Both registries get both;
 * a fresh blob per way and round. After each round, against Wharf, the same with the Worker
 * isolate profiled (bench/lib/isolate.ts), apart from the timed rows.
 */
import http from "node:http";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { hashDownload, sendFileRange, writeRandomFile } from "../../test/e2e/helpers/blob-file";
import { track } from "../lib/measure";
import { productionSamples } from "../lib/production-cost";
import { authHeaders, call } from "../lib/registry";
import type { Context, Sample, Target, Workload } from "../lib/workload";
import { label } from "./skopeo-image";

const GiB = 1024 ** 3;
export const WAYS = ["multipart (PATCH without length)", "monolithic (PUT with length)"] as const;
export type Way = (typeof WAYS)[number];

export default function largeLayer({ sizes, tmp }: Context): Workload {
  const size = sizes.largeLayerBytes;
  type Files = Map<Way, { file: string; digest: string }>;
  let timed: Files = new Map();
  /** A fresh random layer per way, named `name`-0 and -1 in the workload's directory. */
  const writeFiles = async (name: string, bytes: number) => {
    const files: Files = new Map();
    for (const [i, way] of WAYS.entries()) {
      const file = path.join(tmp, `${name}-${i}`);
      await rm(file, { force: true });
      files.set(way, { file, digest: await writeRandomFile(file, bytes) });
    }
    return files;
  };
  /** Each way: push to `repo`, pull back and check, both tracked (and profiled when `profile`). */
  const pushAndPull = async (target: Target, files: Files, repo: string, bytes: number, profile: boolean) => {
    const done = [];
    for (const way of WAYS) {
      const { file, digest } = files.get(way)!;
      const options = [target.isolate, { profile }] as const;
      const push = await track(target.pid, () => pushLayer(target.url, repo, way, file, bytes, digest), ...options);
      const url = `${target.url}/v2/${repo}/blobs/${digest}`;
      const pull = await track(target.pid, async () => hashDownload(url, await authHeaders(url)), ...options);
      if (pull.result.status !== 200 || pull.result.digest !== digest || pull.result.size !== bytes)
        throw new Error(
          `${way}: GET answered ${pull.result.status}, ${pull.result.size} bytes of ${pull.result.digest}`,
        );
      done.push({ way, push: push.cost, pull: pull.cost });
    }
    return done;
  };
  return {
    title: `a ${label(size)} layer pushed as docker and podman do and monolithically, then pulled`,
    async beforeRound() {
      timed = await writeFiles("layer", size);
    },
    async run(target: Target, round: number) {
      const samples: Sample[] = [];
      for (const { way, push, pull } of await pushAndPull(target, timed, `bench/large-${round}`, size, false)) {
        const rate = (seconds: number) => size / 1e6 / seconds;
        const perGiB = (seconds: number) => seconds / (size / GiB);
        samples.push(
          { figure: `${way}: push`, unit: "MB/s", value: rate(push.seconds), better: "higher" },
          { figure: `${way}: pull`, unit: "MB/s", value: rate(pull.seconds), better: "higher" },
          { figure: `${way}: pull time`, unit: "s", value: pull.seconds, better: "lower" },
          { figure: `${way}: push, server CPU`, unit: "s/GiB", value: perGiB(push.cpuSeconds), better: "lower" },
          { figure: `${way}: pull, server CPU`, unit: "s/GiB", value: perGiB(pull.cpuSeconds), better: "lower" },
          ...productionSamples(`${way}: push, `, push, { bytes: size }),
          ...productionSamples(`${way}: pull, `, pull, { bytes: size }),
        );
      }
      return { samples };
    },
    // Wharf only: fresh layers of the profiled size, each way, with the Worker isolate profiled.
    async afterRun(target: Target, round: number) {
      if (!target.isolate) return { samples: [] };
      const bytes = sizes.profiledBytes;
      const files = await writeFiles("profiled", bytes);
      const samples: Sample[] = [];
      for (const { way, push, pull } of await pushAndPull(
        target,
        files,
        `bench/large-profiled-${round}`,
        bytes,
        true,
      )) {
        samples.push(
          ...productionSamples(`profiled pass, ${label(bytes)}, ${way}: push, `, push, { bytes }),
          ...productionSamples(`profiled pass, ${label(bytes)}, ${way}: pull, `, pull, { bytes }),
        );
      }
      for (const { file } of files.values()) await rm(file, { force: true });
      return { samples };
    },
  };
}

export async function pushLayer(base: string, repo: string, way: Way, file: string, size: number, digest: string) {
  const started = await call("POST", `${base}/v2/${repo}/blobs/uploads/`, 202);
  let location = new URL(started.headers.get("Location")!, base);
  const headers = { ...(await authHeaders(location.href)), "Content-Type": "application/octet-stream" };
  if (way === "multipart (PATCH without length)") {
    const patched = await streamChunked("PATCH", location.href, file, headers);
    if (patched.status !== 202) throw new Error(`PATCH: ${patched.status} ${patched.body.slice(0, 300)}`);
    location = new URL(String(patched.location), location);
    location.searchParams.set("digest", digest);
    await call("PUT", location.href, 201);
    return;
  }
  location.searchParams.set("digest", digest);
  const put = await sendFileRange("PUT", location.href, file, { start: 0, end: size - 1 }, headers);
  if (put.status !== 201) throw new Error(`PUT: ${put.status} ${put.body.slice(0, 300)}`);
}

/** Sends a file as a chunked body (no Content-Length), as docker's and podman's PATCH does. */
function streamChunked(
  method: string,
  url: string,
  file: string,
  headers: Record<string, string>,
): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, "Transfer-Encoding": "chunked" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
    });
    req.on("error", reject);
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}
