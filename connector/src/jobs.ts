/**
 * The jobs the edge hands out (docs/connector.md, "Jobs"), checked with zod as they arrive: a
 * job the connector cannot read is failed at once with the reason, never half-run.
 */
import { z } from "zod";

const gitSource = z.object({
  kind: z.literal("git"),
  url: z.string().min(1),
  commit: z.string().nullish(),
  ref: z.string().nullish(),
  ssh_private_key: z.string().nullish(),
});

export const buildSpec = z.object({
  uuid: z.string().min(1),
  repository: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._/-]*$/, "not a repository name"),
  registry: z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]+)?$/, "not a registry host"),
  insecure: z.boolean().default(false),
  docker_tags: z.array(z.string().regex(/^[\w][\w.-]{0,127}$/, "not a tag")).min(1),
  build_subdir: z.string().default(""),
  context: z.string().default(""),
  dockerfile_path: z.string().nullish(),
  source: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("upload"), mime_type: z.string().nullish() }),
    z.object({ kind: z.literal("archive"), url: z.string().url() }),
    gitSource,
  ]),
  credentials: z.object({
    username: z.string().min(1),
    password: z.string().min(1),
    expires_at: z.number().optional(),
  }),
});
export type BuildSpec = z.infer<typeof buildSpec>;
export type GitSource = z.infer<typeof gitSource>;

/** Clair wants each header as a list of values; the edge may send plain strings. */
const headerValues = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

export const scanSpec = z.object({
  manifest: z.string().regex(/^sha256:[a-f0-9]{64}$/, "not a manifest digest"),
  repository: z.string(),
  layers: z.array(
    z.object({
      hash: z.string().regex(/^sha(256|512):[a-f0-9]+$/, "not a layer digest"),
      uri: z.string().url(),
      headers: z.record(z.string(), headerValues).default({}),
    }),
  ),
});
export type ScanSpec = z.infer<typeof scanSpec>;

export const scanNotificationSpec = z.object({ notification_id: z.string().min(1) });

/** The lease's common fields; the kind's own field is read by the kind's runner. */
export const leasedJob = z
  .object({
    uuid: z.string().min(1),
    kind: z.string(),
    lease_token: z.string().min(1),
    lease_expires_at: z.number().optional(),
    attempts: z.number().optional(),
  })
  .passthrough();
export type LeasedJob = z.infer<typeof leasedJob>;

export const JOB_KINDS = ["build", "scan", "scan_notification"] as const;
export type JobKind = (typeof JOB_KINDS)[number];
