/** What a workload is, and the sizes it runs at in each mode. */
import type { Credentials, RegistryLogin } from "../../test/e2e/helpers/registry-auth";
import type { D1Size, Growth } from "./d1-size";
import type { IsolateProbe } from "./isolate";

export type Side = "wharf" | "reference";

/** One running registry: where it answers, and the root of its process tree (for CPU and memory). */
export interface Target {
  side: Side;
  url: string;
  pid: number;
  /** Wharf only: reads its Worker isolate's memory, CPU and D1 statements. */
  isolate?: IsolateProbe;
}

/** One measured figure of one run against one registry. */
export interface Sample {
  figure: string;
  unit: string;
  value: number;
  /** Which direction is better, shown as ↑/↓ and used to read the ratio. */
  better: "higher" | "lower";
}

export interface Outcome {
  samples: Sample[];
  /** Bytes moved or requests answered during the run: the runner reports server CPU per unit. */
  bytes?: number;
  requests?: number;
  /** Facts a reader needs to read the figures right (deduplicated per workload). */
  notes?: string[];
  /** Anything that makes the run invalid (non-2xx answers, wrong content); the bench exits non-zero. */
  problems?: string[];
}

export interface Workload {
  title: string;
  /** Runs against Wharf only (what the reference has no counterpart of). */
  wharfOnly?: boolean;
  /**
   * Once before seeding, not measured: the targets this workload runs against in place of the
   * runner's (workload 8 puts a pull-through docker-registry in place of the reference).
   */
  prepare?(targets: Target[]): Promise<Target[]>;
  /** Once per registry before the rounds, measured (seeding takes long enough to matter). */
  seed?(target: Target): Promise<Outcome>;
  /** Once per round before both registries run it, not measured: fresh data for the round. */
  beforeRound?(round: number): Promise<void>;
  run(target: Target, round: number): Promise<Outcome>;
  /**
   * After each `run`, outside the runner's measurement (its CPU counts in no row of `run`): a pass
   * that measures itself, such as workload 4's profiled requests.
   */
  afterRun?(target: Target, round: number): Promise<Outcome>;
  cleanup?(): Promise<void>;
}

export interface Sizes {
  rounds: number;
  /** Workload 1: the single layer of the skopeo image. */
  imageBytes: number;
  /** Workload 2: the chunked blob and its PATCH size. */
  blobBytes: number;
  chunkBytes: number;
  /** Workload 3: layers of the many-layer image. */
  layers: number;
  /** Seconds of each autocannon run. */
  cannonSeconds: number;
  /** Sequential timing: at most this many requests, and stop after this many seconds. */
  sequentialRequests: number;
  sequentialSeconds: number;
  /** Workload 5 and 6. */
  tagCounts: number[];
  repositories: number;
  /** Workload 7: tag creations followed on the live stream, pushes beside a slow webhook. */
  liveEvents: number;
  hookPushes: number;
  /** Workload 8: the layer of each image pulled through the proxy caches. */
  proxyLayerBytes: number;
  /** Workload 11: the layer pushed both ways and pulled. */
  largeLayerBytes: number;
  /**
   * Workloads 1, 2 and 11: the bytes of their profiled pass after each round (Wharf only), apart
   * from the timed rounds: profiling costs workerd CPU (bench/lib/isolate.ts).
   */
  profiledBytes: number;
}

export const FULL: Sizes = {
  rounds: 3,
  imageBytes: 1024 * 1024 * 1024,
  blobBytes: 1024 * 1024 * 1024,
  chunkBytes: 64 * 1024 * 1024,
  layers: 100,
  cannonSeconds: 5,
  sequentialRequests: 50,
  sequentialSeconds: 5,
  tagCounts: [1_000, 100_000],
  repositories: 10_000,
  liveEvents: 200,
  hookPushes: 10,
  proxyLayerBytes: 32 * 1024 * 1024,
  largeLayerBytes: 256 * 1024 * 1024,
  profiledBytes: 256 * 1024 * 1024,
};

export const QUICK: Sizes = {
  rounds: 1,
  imageBytes: 32 * 1024 * 1024,
  blobBytes: 32 * 1024 * 1024,
  chunkBytes: 8 * 1024 * 1024,
  layers: 10,
  cannonSeconds: 1,
  sequentialRequests: 20,
  sequentialSeconds: 0.5,
  // Enough for a second page in each listing: the smoke test (`npm test`) proves the workloads
  // run, the full run measures them.
  tagCounts: [100, 300],
  repositories: 150,
  liveEvents: 20,
  hookPushes: 3,
  proxyLayerBytes: 4 * 1024 * 1024,
  largeLayerBytes: 32 * 1024 * 1024,
  profiledBytes: 32 * 1024 * 1024,
};

export interface Context {
  sizes: Sizes;
  /** A private temp directory for the workload's files, removed after the run. */
  tmp: string;
  /**
   * Wharf's URL, users (one per namespace), token client and superuser OAuth token, and the
   * loopback ports its ALLOW_PRIVATE_OUTBOUND lets through (workload 7's webhook receiver,
   * workload 8's upstream).
   */
  wharf?: {
    url: string;
    credentialsFor(namespace: string): Promise<Credentials>;
    login: RegistryLogin;
    adminToken: string;
    hookPort: number;
    upstreamPort: number;
    /** Rows and bytes per table of Wharf's local D1 now (bench/lib/d1-size.ts). */
    d1Size(): Promise<D1Size>;
    /** Keeps what a seeding added to D1, for the report's storage section. */
    recordGrowth(growth: Growth): void;
  };
}
