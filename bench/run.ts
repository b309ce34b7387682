/**
 * `npm run bench [-- --quick] [-- --only=1,4]`: Wharf (started exactly as `npm start` runs it) side
 * by side with the reference registry (Debian's docker-registry, distribution 2.8), both fresh,
 * on this machine. Each workload runs against both, alternating Wharf, reference, Wharf, … over
 * the rounds, so drift in the machine's load hits both alike. Full mode writes
 * bench/results/<date>-full.md and latest.md (with --only: <date>-workloads-<list>-<commit>.md
 * alone); quick mode (small sizes, one round) writes to a temp directory only. Both print the report. Exits non-zero if any workload failed.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { treeUsage } from "../test/e2e/helpers/memory";
import { startReferenceRegistry } from "../test/e2e/helpers/reference-registry";
import { login, registryHost } from "../test/e2e/helpers/clients";
import { freePort, startWharf } from "../test/e2e/helpers/server";
import { probeIsolate } from "./lib/isolate";
import { track, type Cost } from "./lib/measure";
import { PRODUCTION_NOTE, productionSamples } from "./lib/production-cost";
import { measureSettledD1, type Growth } from "./lib/d1-size";
import { renderScale } from "./lib/scale-report";
import { useLogin } from "./lib/registry";
import { addSample, machine, render, type Section } from "./lib/report";
import { FULL, QUICK, type Context, type Outcome, type Target, type Workload } from "./lib/workload";
import catalog from "./workloads/catalog";
import liveEvents, { HOOK_HOST } from "./workloads/live-events";
import chunkedBlob from "./workloads/chunked-blob";
import manifestReads from "./workloads/manifest-reads";
import manyLayers from "./workloads/many-layers";
import proxyCache from "./workloads/proxy-cache";
import skopeoImage from "./workloads/skopeo-image";
import tagsList from "./workloads/tags-list";
import uiFirstLoad from "./workloads/ui-first-load";
import fairUse from "./workloads/fair-use";
import largeLayer from "./workloads/large-layer";

const WORKLOADS = [
  skopeoImage,
  chunkedBlob,
  manyLayers,
  manifestReads,
  tagsList,
  catalog,
  liveEvents,
  proxyCache,
  uiFirstLoad,
  fairUse,
  largeLayer,
];
const MiB = 1024 ** 2;

if (process.argv.includes("--help")) {
  console.log(
    [
      "npm run bench [-- --quick] [-- --only=N,M]",
      "  --quick     small sizes, one round; the report goes to a temp directory only",
      "  --only=N,M  only these workloads (numbered as in the report)",
    ].join("\n"),
  );
  process.exit(0);
}
const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",")
  .map(Number);
const sizes = quick ? QUICK : FULL;
const t0 = performance.now();
const log = (message: string) =>
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${message}\n`);

const header = machine();
const tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-bench-"));
// The inspector lets the bench read the Worker isolate's own memory (bench/lib/isolate.ts).
const inspectorPort = await freePort();
// Workload 7's slow webhook receiver listens here, on loopback, which Wharf refuses unless let through.
const hookPort = await freePort();
// Workload 8's upstream (a counting proxy in front of a docker-registry) will listen here.
const upstreamPort = await freePort();
const wharf = await startWharf({
  env: {
    WHARF_INSPECTOR_PORT: String(inspectorPort),
    ALLOW_PRIVATE_OUTBOUND: `${HOOK_HOST}:${hookPort},127.0.0.1:${upstreamPort}`,
    FEATURE_PROXY_CACHE: "true",
    // The Worker counts the D1 statements it prepares, read through the inspector (src/db/query-counter.ts).
    BENCH_COUNT_D1: "true",
  },
});
const reference = await startReferenceRegistry().catch(async (err) => {
  await wharf.stop();
  throw err;
});
const isolate = await probeIsolate(inspectorPort, "wharf").catch(async (err) => {
  await Promise.allSettled([wharf.stop(), reference.stop()]);
  throw err;
});
const targets: Target[] = [
  { side: "wharf", url: wharf.url, pid: wharf.pid, isolate },
  { side: "reference", url: reference.url, pid: reference.pid },
];
const stop = () =>
  Promise.allSettled([isolate.close(), wharf.stop(), reference.stop(), rm(tmp, { recursive: true, force: true })]);
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => void stop().then(() => process.exit(130)));
header.push(["Wharf processes (`npm start`)", (await treeUsage(wharf.pid)).names.join(", ")]);
// Wharf wants Docker token auth, as any client meets it: raw requests carry the namespace owner's
// token (bench/lib/registry.ts), skopeo reads the credentials `podman login` saved.
useLogin(wharf.login);
await login(registryHost(wharf.url), await wharf.credentialsFor("bench"), path.join(tmp, "auth.json"));
await wharf.credentialsFor("zz-catalog");
log(`Wharf on ${wharf.url}, reference on ${reference.url}`);

/** The figures a run produced, then what it cost the server: CPU, per unit of work, peak memory. */
function record(section: Section, target: Target, outcome: Outcome, cost: Cost, phase: "seeding: " | ""): void {
  const add = (figure: string, unit: string, value: number) =>
    addSample(section, target.side, { figure, unit, value, better: "lower" });
  for (const sample of outcome.samples) addSample(section, target.side, sample);
  add(phase ? "seeding: server CPU" : "server CPU per round", "s", cost.cpuSeconds);
  if (outcome.bytes) add(`${phase}server CPU per GiB`, "s", cost.cpuSeconds / (outcome.bytes / 1024 ** 3));
  if (outcome.requests) add(`${phase}server CPU per request`, "ms", (cost.cpuSeconds * 1000) / outcome.requests);
  add(`${phase}peak RSS, process tree`, "MiB", cost.peakRss / MiB);
  if (target.side === "wharf") {
    add(`${phase}peak RSS, workerd only`, "MiB", cost.peakWorkerdRss / MiB);
    add(
      `${phase}peak RSS above the start of the run, workerd only`,
      "MiB",
      (cost.peakWorkerdRss - cost.startWorkerdRss) / MiB,
    );
    if (cost.peakIsolate !== undefined)
      add(`${phase}peak memory of the Worker's isolate (V8 heap + ArrayBuffers)`, "MiB", cost.peakIsolate / MiB);
    const per = outcome.bytes ? { bytes: outcome.bytes } : { requests: outcome.requests };
    for (const sample of productionSamples(phase, cost, per)) addSample(section, target.side, sample);
  }
  for (const problem of outcome.problems ?? []) section.errors.push(`${target.side}: ${problem}`);
  for (const note of outcome.notes ?? []) section.notes.add(note);
}

const sections: Section[] = [];
const growths: Growth[] = [];
for (const [index, factory] of WORKLOADS.entries()) {
  if (only && !only.includes(index + 1)) continue;
  const context: Context = {
    sizes,
    tmp: path.join(tmp, String(index + 1)),
    wharf: {
      url: wharf.url,
      credentialsFor: (namespace) => wharf.credentialsFor(namespace),
      login: wharf.login,
      adminToken: wharf.adminToken,
      hookPort,
      upstreamPort,
      d1Size: () => measureSettledD1(wharf.stateDir),
      recordGrowth: (growth) => growths.push(growth),
    },
  };
  await mkdir(context.tmp, { recursive: true });
  const workload: Workload = factory(context);
  const section: Section = { title: `${index + 1}. ${workload.title}`, rows: [], notes: new Set(), errors: [] };
  sections.push(section);
  let against = workload.wharfOnly ? targets.filter((t) => t.side === "wharf") : targets;
  try {
    if (workload.prepare) against = await workload.prepare(against);
    for (const target of workload.seed ? against : []) {
      log(`${workload.title}: seeding ${target.side}`);
      const { result, cost } = await track(target.pid, () => workload.seed!(target), target.isolate);
      record(section, target, result, cost, "seeding: ");
    }
    for (let round = 1; round <= sizes.rounds; round++) {
      await workload.beforeRound?.(round);
      for (const target of against) {
        log(`${workload.title}: round ${round}, ${target.side}`);
        const { result, cost } = await track(target.pid, () => workload.run(target, round), target.isolate);
        record(section, target, result, cost, "");
        const after = await workload.afterRun?.(target, round);
        for (const sample of after?.samples ?? []) addSample(section, target.side, sample);
        for (const problem of after?.problems ?? []) section.errors.push(`${target.side}: ${problem}`);
      }
    }
  } catch (err) {
    section.errors.push((err as Error).stack ?? String(err));
    log(`FAILED: ${(err as Error).stack ?? err}`);
  } finally {
    await workload.cleanup?.();
    await rm(context.tmp, { recursive: true, force: true });
  }
}
// What the run left in D1: bytes per row (after workloads 5 and 6, 100,000 tags and 10,000 repositories).
const scale = await measureSettledD1(wharf.stateDir).then(
  (size) => renderScale(size, growths),
  (err) => [`## D1 storage`, "", `**ERROR:** ${(err as Error).message}`, ""],
);
await stop();

const elapsed = (performance.now() - t0) / 1000;
header.push([
  "mode",
  `${quick ? "quick" : "full"}: ${sizes.rounds} round(s)${only ? `, workloads ${only.join(",")}` : ""}, ${elapsed.toFixed(0)} s in all`,
]);
const notes = [
  "Each cell is the median over the rounds with the spread (min–max) in brackets; the ratio is Wharf's median over the reference's.",
  "↑: higher is better, ↓: lower is better. Server CPU is utime+stime of the server's whole process tree; peak RSS sums VmRSS over that tree, sampled every 200 ms.",
  "workerd's RSS holds the Worker and the local D1, R2, Durable Object and Queue simulators; the Worker's isolate figure (V8 heap reserved + ArrayBuffer backing stores, from workerd's inspector) is what production's 128 MB isolate limit applies to.",
  PRODUCTION_NOTE,
  "Clients (skopeo, autocannon, this script) share the machine's cores with the server under test.",
  "Wharf runs with Docker token authentication (every request carries a registry token, fetched from /v2/auth as clients do); the reference runs without authentication.",
];
const report = [
  render(`Wharf vs distribution 2.8 (${quick ? "quick" : "full"})`, header, sections, notes),
  ...scale,
].join("\n");
const outDir = quick
  ? await mkdtemp(path.join(os.tmpdir(), "wharf-bench-report-"))
  : path.join(import.meta.dirname, "results");
// A run of some workloads (--only) gets a file of its own, named after them and the commit, and
// leaves latest.md, the last run of all of them, as it is (as the earlier partial runs were kept).
const date = new Date().toISOString().slice(0, 10);
const commit = header.find(([key]) => key === "Wharf commit")![1].split(" ")[0];
const files = quick
  ? ["quick.md"]
  : only
    ? [`${date}-workloads-${only.join("-")}-${commit}.md`]
    : [`${date}-full.md`, "latest.md"];
for (const file of files) await writeFile(path.join(outDir, file), report);
console.log(report);
const failed = sections.filter((s) => s.errors.length > 0);
log(`report in ${files.map((f) => path.join(outDir, f)).join(" and ")}; ${failed.length} workload(s) failed`);
process.exit(failed.length > 0 ? 1 : 0);
