/**
 * Fetches a build's source into a fresh directory (docs/connector.md, `build.source`): an upload
 * from the edge's `/connector/v1/jobs/{uuid}/source`, an archive from its URL, or a git commit.
 * Bodies are streamed to disk, never held in memory (a context can be gigabytes). A source that
 * cannot be fetched fails the job with `retry` (the network may be back); one that is not a
 * usable source fails it for good.
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { JobFailure } from "../connector";
import type { EdgeClient } from "../edge-client";
import type { BuildSpec, LeasedJob } from "../jobs";
import { networkReason } from "../log";
import { checkSourceHost } from "./address-check";
import { unpackSource } from "./archive";
import { fetchGit } from "./git";

export interface SourceOptions {
  edge: EdgeClient;
  job: LeasedJob;
  jobDir: string;
  knownHostsFile: string;
  allowPrivate: boolean;
  signal: AbortSignal;
  onLine: (line: string) => void;
}

/** The directory holding the build's source tree. */
export async function fetchSource(spec: BuildSpec, options: SourceOptions): Promise<string> {
  const tree = path.join(options.jobDir, "source");
  const source = spec.source;
  if (source.kind === "git") {
    await fetchGit(source, { ...options, into: tree });
    return tree;
  }
  await mkdir(tree);
  const file = path.join(options.jobDir, "source.download");
  if (source.kind === "upload") {
    options.onLine("Fetching the uploaded build package");
    let res: Response;
    try {
      res = await options.edge.source(options.job, options.signal);
    } catch (err) {
      throw new JobFailure(`the build's source could not be fetched: ${(err as Error).message}`, true);
    }
    await saveBody(res, file, options.signal);
  } else {
    options.onLine(`Fetching ${redact(source.url)}`);
    await saveBody(await fetchArchive(source.url, options), file, options.signal);
  }
  const format = await unpackSource(file, tree, options.signal);
  options.onLine(
    format === "dockerfile" ? "The build package is a Dockerfile" : `Unpacked the ${format} build package`,
  );
  return tree;
}

/** GET with redirects followed by hand, each hop's host checked, up to 5 hops. */
async function fetchArchive(url: string, options: SourceOptions): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; hop < 6; hop++) {
    if (current.protocol !== "https:" && current.protocol !== "http:")
      throw new JobFailure(`the archive URL ${redact(current.href)} is not http(s)`, false);
    await checkSourceHost(current.hostname, options.allowPrivate);
    let res: Response;
    try {
      res = await fetch(current, { redirect: "manual", signal: options.signal });
    } catch (err) {
      throw new JobFailure(`${redact(current.href)} could not be fetched: ${networkReason(err)}`, true);
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current);
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new JobFailure(`${redact(current.href)} answered ${res.status}`, res.status >= 500 || res.status === 429);
    }
    return res;
  }
  throw new JobFailure(`${redact(url)} redirects too many times`, false);
}

async function saveBody(res: Response, file: string, signal: AbortSignal): Promise<void> {
  if (!res.body) throw new JobFailure("the build's source was empty", false);
  try {
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(file), {
      signal,
    });
  } catch (err) {
    throw new JobFailure(`the build's source could not be downloaded: ${(err as Error).message}`, true);
  }
}

/** A URL without its query (where signed URLs keep their credentials), for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = u.search ? "?…" : "";
    return u.href;
  } catch {
    return url;
  }
}
