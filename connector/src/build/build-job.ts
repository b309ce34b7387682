/**
 * A `build` job (docs/connector.md): fetch the source (phase `unpacking`), build the Dockerfile
 * (`pulling` while the base image comes, `building` from the first other step), push every tag
 * with the job's `$build` credentials (`pushing`), and complete with the manifest digests and the
 * image id. The builder's output is the build's log, line by line; a Dockerfile step is Quay's
 * `command` entry, the builder's error lines `error` entries.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ChildFailed } from "../child";
import { JobFailure, type JobOutcome, type JobRunner } from "../connector";
import type { EdgeClient, LogEntry } from "../edge-client";
import type { JobRun } from "../job-run";
import { type BuildSpec, buildSpec } from "../jobs";
import type { Builder, Store } from "./builder";
import { resolveBuildPaths } from "./context";
import { fetchSource } from "./source";

export interface BuildDeps {
  edge: EdgeClient;
  builder: Builder;
  workDir: string;
  insecureRegistry: boolean;
  allowPrivateSources: boolean;
}

const STEP = /^(?:STEP|Step) (\d+)(?:\/\d+)?\s?: (.*)$/;

export function buildRunner(deps: BuildDeps): JobRunner {
  return async (job, run) => {
    const parsed = buildSpec.safeParse(job.build);
    if (!parsed.success) throw new JobFailure(`the build job could not be read: ${parsed.error.message}`, false);
    const spec = parsed.data;
    if (spec.insecure && !deps.insecureRegistry)
      throw new JobFailure(
        `the registry ${spec.registry} is plain HTTP; this connector pushes only over TLS (start it with --insecure-registry)`,
        false,
      );
    await mkdir(deps.workDir, { recursive: true });
    const jobDir = await mkdtemp(path.join(deps.workDir, "build-"));
    let store: Store | undefined;
    try {
      store = await deps.builder.createStore(jobDir);
      return await runBuild(spec, job, run, deps, jobDir, store);
    } finally {
      if (store) await deps.builder.cleanUp(store);
      await rm(jobDir, { recursive: true, force: true });
    }
  };
}

async function runBuild(
  spec: BuildSpec,
  job: Parameters<JobRunner>[0],
  run: JobRun,
  deps: BuildDeps,
  jobDir: string,
  store: Store,
): Promise<JobOutcome> {
  const plain = (message: string) => run.log({ message });
  run.enterPhase("unpacking");
  const tree = await fetchSource(spec, {
    edge: deps.edge,
    job,
    jobDir,
    knownHostsFile: path.join(deps.workDir, "known_hosts"),
    allowPrivate: deps.allowPrivateSources,
    signal: run.signal,
    onLine: plain,
  });
  const paths = await resolveBuildPaths(tree, spec);
  const authFile = path.join(jobDir, "auth.json");
  const auth = Buffer.from(`${spec.credentials.username}:${spec.credentials.password}`).toString("base64");
  await writeFile(authFile, JSON.stringify({ auths: { [spec.registry]: { auth } } }), { mode: 0o600 });
  const tlsVerify = !spec.insecure;
  const image = `${spec.registry}/${spec.repository}:${spec.docker_tags[0]}`;
  const iidFile = path.join(jobDir, "image-id");

  run.enterPhase("pulling");
  let building = false;
  try {
    await deps.builder.build(
      store,
      { dockerfile: paths.dockerfile, context: paths.context, image, authFile, iidFile, tlsVerify },
      {
        signal: run.signal,
        onLine: (line, stream) => {
          const entry = classify(line, stream);
          const step = STEP.exec(line);
          if (step && !building && !/^FROM\b/i.test(step[2] ?? "")) {
            building = true;
            run.enterPhase("building");
          }
          if (entry) run.log(entry);
        },
      },
    );
  } catch (err) {
    if (err instanceof ChildFailed) throw new JobFailure(err.message, false);
    throw err;
  }
  if (!building) run.enterPhase("building");
  const imageId = (await readFile(iidFile, "utf8").catch(() => "")).trim();

  run.enterPhase("pushing");
  const digests: string[] = [];
  for (const tag of spec.docker_tags) {
    const digestFile = path.join(jobDir, `digest-${tag}`);
    const destination = `${spec.registry}/${spec.repository}:${tag}`;
    plain(`Pushing ${destination}`);
    try {
      await deps.builder.push(
        store,
        { image, destination, authFile, digestFile, tlsVerify },
        { signal: run.signal, onLine: (line, stream) => emit(run, classify(line, stream)) },
      );
    } catch (err) {
      if (err instanceof ChildFailed) throw new JobFailure(err.message, false);
      throw err;
    }
    const digest = (await readFile(digestFile, "utf8")).trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new JobFailure(`the push of ${tag} returned no digest`, false);
    if (!digests.includes(digest)) digests.push(digest);
  }
  return {
    result: {
      manifest_digests: digests,
      image_id: /^[a-f0-9]{64}$/.test(imageId)
        ? `sha256:${imageId}`
        : /^sha256:[a-f0-9]{64}$/.test(imageId)
          ? imageId
          : null,
    },
  };
}

function emit(run: JobRun, entry: LogEntry | null): void {
  if (entry) run.log(entry);
}

/** Quay's log entry for a line of the builder's output (blank lines are dropped). */
export function classify(line: string, stream: "stdout" | "stderr"): LogEntry | null {
  if (line.trim() === "") return null;
  if (STEP.test(line)) return { message: line, type: "command" };
  if (stream === "stderr" && /^(error|fatal)\b/i.test(line.trim())) return { message: line, type: "error" };
  return { message: line };
}
