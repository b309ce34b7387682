/**
 * Workload 11: one large layer (256 MiB in full mode) pushed the two ways clients do, then pulled
 * by a plain blob GET: as docker and podman push (POST, one PATCH streaming the bytes without a
 * Content-Length, PUT ?digest=), which Wharf keeps as an R2 multipart object, and monolithically
 * (POST, then PUT ?digest= carrying the bytes with their Content-Length). Both registries get both;
 * a fresh blob per way and round. Wharf's Worker isolate is profiled over each push and pull.
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
const WAYS = ["multipart (PATCH without length)", "monolithic (PUT with length)"] as const;
type Way = (typeof WAYS)[number];

export default function largeLayer({ sizes, tmp }: Context): Workload {
  const size = sizes.largeLayerBytes;
  const files = new Map<Way, { file: string; digest: string }>();
  return {
    title: `a ${label(size)} layer pushed as docker and podman do and monolithically, then pulled`,
    async beforeRound() {
      for (const [i, way] of WAYS.entries()) {
        const file = path.join(tmp, `layer-${i}`);
        await rm(file, { force: true });
        files.set(way, { file, digest: await writeRandomFile(file, size) });
      }
    },
    async run(target: Target, round: number) {
      const repo = `bench/large-${round}`;
      const samples: Sample[] = [];
      for (const way of WAYS) {
        const { file, digest } = files.get(way)!;
        const profiled = [target.isolate, { profile: true }] as const;
        const push = await track(target.pid, () => pushLayer(target.url, repo, way, file, size, digest), ...profiled);
        const url = `${target.url}/v2/${repo}/blobs/${digest}`;
        const pull = await track(target.pid, async () => hashDownload(url, await authHeaders(url)), ...profiled);
        if (pull.result.status !== 200 || pull.result.digest !== digest || pull.result.size !== size)
          throw new Error(
            `${way}: GET answered ${pull.result.status}, ${pull.result.size} bytes of ${pull.result.digest}`,
          );
        const rate = (seconds: number) => size / 1e6 / seconds;
        samples.push(
          { figure: `${way}: push`, unit: "MB/s", value: rate(push.cost.seconds), better: "higher" },
          { figure: `${way}: pull`, unit: "MB/s", value: rate(pull.cost.seconds), better: "higher" },
          { figure: `${way}: pull time`, unit: "s", value: pull.cost.seconds, better: "lower" },
          {
            figure: `${way}: push, server CPU`,
            unit: "s/GiB",
            value: push.cost.cpuSeconds / (size / GiB),
            better: "lower",
          },
          {
            figure: `${way}: pull, server CPU`,
            unit: "s/GiB",
            value: pull.cost.cpuSeconds / (size / GiB),
            better: "lower",
          },
          ...productionSamples(`${way}: push, `, push.cost, { bytes: size }),
          ...productionSamples(`${way}: pull, `, pull.cost, { bytes: size }),
        );
      }
      return { samples };
    },
  };
}

async function pushLayer(base: string, repo: string, way: Way, file: string, size: number, digest: string) {
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
