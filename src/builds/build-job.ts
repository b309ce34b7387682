/**
 * The `build` job's handler (src/connector/job-kinds.ts): what a connector leasing a build is told
 * (docs/connector.md, "build"), and what its reports change. Each lease's describe moves the build
 * to `build-scheduled` with `build_started` (a build leased again after its connector died starts
 * over, as Quay's builder restarts a job); heartbeats move it forward through Quay's phases and
 * append its log; completion is `complete` with the pushed digests and `build_succeeded`; failure
 * `error` with the builder's message (`internalerror` when its leases ran out) and `build_failed`.
 * The events are the builder's (system actor `builder`).
 */
import { EXHAUSTED_REASON } from "../connector/lease-expiry";
import { cancelJobStatement } from "../connector/job-queue";
import { leaseLost } from "../connector/lease-state";
import { z } from "zod";
import { readConfig } from "../config";
import type { JobContext, JobHandler, JobProgress, JobSource, LeasedJob } from "../connector/job-kinds";
import { type Db, database, runBatch } from "../db/client";
import type { EventOrigin } from "../events/envelope";
import { invalid } from "../errors/domain";
import { decryptSecret } from "../identity/secrets";
import { clock } from "../lib/clock";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { R2BlobStore } from "../storage/r2-blob-store";
import { mintBuildCredential } from "./build-credential";
import { appendLogStatements } from "./build-log";
import { dockerfilePathOf } from "./build-view";
import { type BuildRecord, findBuild, isTerminal, jobConfigOf, RUNNING_PHASES } from "./builds";
import { storedConfig } from "./triggers";
import { uploadedFiledrop } from "./filedrop";
import { transitionBuild } from "./transitions";

/** The phases a connector may report, in order (Quay's builder phases after scheduling). */
const REPORTED_PHASES = ["unpacking", "pulling", "building", "pushing"] as const;

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be a sha256 digest");
const resultSchema = z.object({
  manifest_digests: z.array(digest).max(100),
  image_id: z.string().max(256).nullable().optional(),
});

const builderOrigin = (ctx: JobContext): EventOrigin => ({
  actor: { kind: "system", name: "builder" },
  ip: ctx.scope.origin.ip,
});

const relative = (path: string) => path.replace(/^\/+/, "");

async function sourceOf(ctx: JobContext, record: BuildRecord) {
  const config = jobConfigOf(record.build);
  if (record.build.resourceKey) {
    const file = await uploadedFiledrop(database(ctx.env.DB), record.build.resourceKey);
    return file ? { kind: "upload", mime_type: file.mimeType } : null;
  }
  if (config.archive_url) return { kind: "archive", url: config.archive_url };
  const trigger = record.trigger;
  if (!trigger) return null;
  const metadata = (config.trigger_metadata ?? {}) as Record<string, unknown>;
  const url = metadata.git_url ?? storedConfig(trigger).build_source;
  if (typeof url !== "string" || typeof metadata.commit !== "string") return null;
  const key = trigger.sealedPrivateKey ? await decryptSecret(ctx.env, trigger.sealedPrivateKey) : null;
  return {
    kind: "git",
    url,
    commit: metadata.commit,
    ref: typeof metadata.ref === "string" ? metadata.ref : null,
    ssh_private_key: key,
  };
}

/** The registry host the connector pushes to: SERVER_HOSTNAME, else the edge's own origin. */
function registryOf(ctx: JobContext) {
  const config = readConfig(ctx.env);
  const origin = new URL(ctx.origin);
  const scheme = config.PREFERRED_URL_SCHEME || origin.protocol.slice(0, -1);
  return { registry: config.SERVER_HOSTNAME || origin.host, insecure: scheme === "http" };
}

async function failBuild(ctx: JobContext, record: BuildRecord, phase: "error" | "internalerror", message: string) {
  const db = database(ctx.env.DB);
  const errorMessage = message.slice(0, 4096);
  const logs = await appendLogStatements(db, record.build.id, [{ message: errorMessage, type: "error" }]);
  await transitionBuild(db, ctx.scope, builderOrigin(ctx), record, {
    to: { phase, error: errorMessage, completedAt: clock.now() },
    event: { kind: "build_failed", data: { errorMessage } },
    after: (changed) => logs(changed),
  });
}

/**
 * A build whose repository was deleted since it was leased (a tombstone awaiting its purge) goes
 * no further: its job is cancelled and the connector told to stop (409 with `cancelled`), and no
 * phase, log or notification is written for a repository that is gone.
 */
async function stopIfDeleted(db: Db, record: BuildRecord): Promise<void> {
  if (record.repository.namespace !== TOMBSTONE_NAMESPACE) return;
  await cancelJobStatement(db, "build", record.build.uuid, "the build's repository was deleted").run();
  throw leaseLost(true);
}

export const buildJobHandler: JobHandler = {
  kind: "build",

  async describe(job: LeasedJob, ctx: JobContext) {
    const db = database(ctx.env.DB);
    const record = await findBuild(db, job.subject);
    if (!record || isTerminal(record.build.phase)) return null;
    // A repository deleted since the build was queued (a tombstone awaiting its purge): no source,
    // deploy key or push credential goes out for it.
    if (record.repository.namespace === TOMBSTONE_NAMESPACE) return null;
    const source = await sourceOf(ctx, record);
    if (!source) {
      await failBuild(
        ctx,
        record,
        "error",
        "The build's source is gone: its uploaded file expired or its trigger changed",
      );
      return null;
    }
    const restart = record.build.phase !== "waiting";
    const line = restart
      ? `build restarted on connector ${job.connector.name} (lease ${job.attempts})`
      : `build scheduled on connector ${job.connector.name}`;
    const logs = await appendLogStatements(db, record.build.id, [{ message: line, type: "phase" }]);
    const moved = await transitionBuild(db, ctx.scope, builderOrigin(ctx), record, {
      to: { phase: "build-scheduled" },
      event: { kind: "build_started", data: { connector: job.connector.name } },
      after: (changed) => logs(changed),
    });
    if (!moved) return null;
    const config = jobConfigOf(record.build);
    return {
      build: {
        uuid: record.build.uuid,
        repository: record.repository.name,
        ...registryOf(ctx),
        docker_tags: config.docker_tags ?? ["latest"],
        build_subdir: relative(config.build_subdir ?? ""),
        context: relative(config.context ?? ""),
        dockerfile_path: relative(dockerfilePathOf(config)),
        source,
        credentials: await mintBuildCredential(ctx.env, record.build.uuid, job.attempts, job.leaseToken),
      },
    };
  },

  async progress(job: LeasedJob, report: JobProgress, ctx: JobContext) {
    const db = database(ctx.env.DB);
    const record = await findBuild(db, job.subject);
    if (!record || isTerminal(record.build.phase)) return;
    await stopIfDeleted(db, record);
    let phase = record.build.phase;
    if (report.phase !== undefined) {
      if (!(REPORTED_PHASES as readonly string[]).includes(report.phase))
        throw invalid(`phase must be one of ${REPORTED_PHASES.join(", ")}`);
      // Only forward: a late heartbeat naming an earlier phase does not move the build back.
      const to = report.phase as (typeof REPORTED_PHASES)[number];
      if (RUNNING_PHASES.indexOf(to) > RUNNING_PHASES.indexOf(phase)) phase = to;
    }
    const logs = await appendLogStatements(db, record.build.id, report.logs ?? []);
    if (phase === record.build.phase) {
      await runBatch(db, logs());
      return;
    }
    await transitionBuild(db, ctx.scope, builderOrigin(ctx), record, {
      to: { phase },
      after: (changed) => logs(changed),
    });
  },

  async complete(job: LeasedJob, result: unknown, ctx: JobContext) {
    const parsed = resultSchema.safeParse(result);
    if (!parsed.success) throw invalid(`invalid build result: ${parsed.error.issues[0]?.message ?? "bad JSON"}`);
    const db = database(ctx.env.DB);
    const record = await findBuild(db, job.subject);
    if (!record || isTerminal(record.build.phase)) return;
    await stopIfDeleted(db, record);
    const { manifest_digests: manifestDigests, image_id: imageId = null } = parsed.data;
    const logs = await appendLogStatements(db, record.build.id, [{ message: "build complete", type: "phase" }]);
    await transitionBuild(db, ctx.scope, builderOrigin(ctx), record, {
      to: { phase: "complete", manifestDigests: JSON.stringify(manifestDigests), completedAt: clock.now() },
      event: { kind: "build_succeeded", data: { manifestDigests, imageId } },
      after: (changed) => logs(changed),
    });
  },

  async fail(job: LeasedJob, reason: string, ctx: JobContext) {
    const record = await findBuild(database(ctx.env.DB), job.subject);
    if (!record || isTerminal(record.build.phase)) return;
    // Gone with its repository: no build_failed for it.
    if (record.repository.namespace === TOMBSTONE_NAMESPACE) return;
    await failBuild(ctx, record, reason === EXHAUSTED_REASON ? "internalerror" : "error", reason);
  },

  async source(job: LeasedJob, ctx: JobContext): Promise<JobSource | null> {
    const db = database(ctx.env.DB);
    const record = await findBuild(db, job.subject);
    if (!record?.build.resourceKey) return null;
    const file = await uploadedFiledrop(db, record.build.resourceKey);
    if (!file) return null;
    const object = await new R2BlobStore(ctx.env.BLOBS).get(file.objectKey);
    return object ? { body: object.body, size: object.size, contentType: file.mimeType } : null;
  },
};
