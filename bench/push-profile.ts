// A closer look at the Worker isolate's CPU over one large blob push (workload 11's two ways),
// at a finer sampling interval than the bench's, with the Worker's own sample counts and the
// functions with the most self time. Starts its own Wharf (as `npm start` runs it):
//
//   npx tsx bench/push-profile.ts [--size=MiB] [--rounds=N] [--interval=µs] [--others-interval=µs]
//     [--way=multipart|monolithic|both]
//     [--top=N] [--save=path-prefix]   (--save writes the Worker's profiles, for DevTools)
//
// Prints per push: wall time, workerd's CPU, the bench's figure (workerd's CPU times the Worker's
// share of every isolate's busy samples, bench/lib/cpu-profile.ts), and the Worker's samples
// themselves: busy (its JavaScript, native calls made from it, GC), "(program)" (the isolate
// entered but in none of its JavaScript: workerd's own C++ under the isolate's lock) and idle.
import { rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mkdtemp } from "node:fs/promises";
import { writeRandomFile } from "../test/e2e/helpers/blob-file";
import { freePort, startWharf } from "../test/e2e/helpers/server";
import { probeIsolate } from "./lib/isolate";
import { track } from "./lib/measure";
import { useLogin } from "./lib/registry";
import { pushLayer, WAYS } from "./workloads/large-layer";

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const bytes = Number(arg("size", "256")) * MiB;
const rounds = Number(arg("rounds", "3"));
const intervalMicros = Number(arg("interval", "1000"));
const top = Number(arg("top", "15"));
const othersIntervalMicros = Number(arg("others-interval", String(intervalMicros)));
const wayArg = arg("way", "multipart");
const save = arg("save", "");
const ways = WAYS.filter((w) => wayArg === "both" || w.startsWith(wayArg));

const tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-push-profile-"));
const inspectorPort = await freePort();
const wharf = await startWharf({ env: { WHARF_INSPECTOR_PORT: String(inspectorPort) } });
const isolate = await probeIsolate(inspectorPort, "wharf");
try {
  useLogin(wharf.login);
  await wharf.credentialsFor("bench");
  const file = path.join(tmp, "layer");
  for (let round = 0; round < rounds; round++) {
    for (const way of ways) {
      // A fresh blob each time: an existing one would be linked, not stored.
      const digest = await writeRandomFile(file, bytes);
      const { cost } = await track(
        wharf.pid,
        () => pushLayer(wharf.url, `bench/profile-${round}`, way, file, bytes, digest),
        isolate,
        { profile: { intervalMicros, othersIntervalMicros, top } },
      );
      const cpu = cost.isolateCpu!;
      const w = cpu.worker;
      const perGiB = GiB / bytes;
      const tick = intervalMicros / 1e6;
      const attributed = cost.workerdCpuSeconds * cpu.share;
      console.log(
        `\n## ${way}, ${bytes / MiB} MiB, round ${round + 1}, Worker sampled every ${intervalMicros} µs, others every ${othersIntervalMicros} µs`,
      );
      console.log(
        [
          `wall ${cost.seconds.toFixed(2)} s (${(bytes / 1e6 / cost.seconds).toFixed(1)} MB/s)`,
          `server CPU ${(cost.cpuSeconds * perGiB).toFixed(2)} s/GiB, workerd ${(cost.workerdCpuSeconds * perGiB).toFixed(2)} s/GiB`,
          `bench figure (workerd CPU × Worker share ${(100 * cpu.share).toFixed(1)}%): ${(attributed * perGiB).toFixed(2)} s/GiB, bundle ${(100 * cpu.bundleShare).toFixed(1)}%`,
          `Worker samples: ${w.total} (median tick ${(w.tickMicros / 1e3).toFixed(2)} ms): busy ${w.busy} (GC ${w.gc}, bundle ${w.bundle}), (program) ${w.program}, idle ${w.total - w.busy - w.program}; other isolates busy ${cpu.othersBusy}, entered ${cpu.othersEntered}`,
          `all isolates entered × interval: ${(((w.busy + w.program) * tick + (cpu.othersEntered * othersIntervalMicros) / 1e6) * perGiB).toFixed(2)} s/GiB of workerd's ${(cost.workerdCpuSeconds * perGiB).toFixed(2)}`,
          `Worker busy × interval: ${(w.busy * tick * perGiB).toFixed(2)} s/GiB; with (program), the report's "sampled in the isolate": ${(cpu.sampledSeconds * perGiB).toFixed(2)} s/GiB`,
          `peak isolate ${((cost.peakIsolate ?? 0) / MiB).toFixed(1)} MiB`,
        ].join("\n"),
      );
      if (save) {
        const out = `${save}-${round + 1}-${way.split(" ")[0]}.cpuprofile`;
        await writeFile(out, JSON.stringify(w.profile));
        console.log(`Worker profile: ${out}`);
      }
      for (const [name, micros] of cpu.top) {
        const samples = Math.round(micros / w.tickMicros);
        console.log(
          `${String(samples).padStart(7)} samples ${((100 * samples) / Math.max(w.busy, 1)).toFixed(1).padStart(5)}%  ${name}`,
        );
      }
    }
  }
} finally {
  isolate.close();
  await wharf.stop();
  await rm(tmp, { recursive: true, force: true });
}
