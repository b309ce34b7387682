#!/usr/bin/env node
// `npm test`: every test, in order: type check, lint and dependency rules, the workerd suite (units and routes), the
// end-to-end suite (real clients and the reference registry against `npm start`), and the
// benchmark in its quick mode.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
};

const steps = [
  ["tools for the end-to-end tests", "bash", ["scripts/ensure-tools.sh"]],
  // The web UI into ui/dist: the Worker's assets for the bundle, the workerd tests and `npm start`.
  ["web UI build", "npm", ["run", "--silent", "build:ui"]],
  ["type check", "npm", ["run", "--silent", "typecheck"]],
  // Biome (format and lint) and dependency-cruiser (imports point down, no circles): .dependency-cruiser.cjs.
  ["lint and dependency rules", "npm", ["run", "--silent", "lint"]],
  ["deploy bundle (dry run)", "wrangler", ["deploy", "--dry-run", "--outdir", "dist"]],
  ["workerd tests", "vitest", vitest("vitest.workers.config.mts", "workers")],
  ["end-to-end tests", "vitest", vitest("vitest.e2e.config.mts", "e2e")],
  // No secret in any line the end-to-end run's registries, connectors and README blocks printed
  // (test/e2e/helpers/test-logs.ts writes them there).
  ["log secret scan", "node", ["scripts/scan-logs.mjs", "dist/test-logs"]],
  // The benchmark's quick mode (small sizes, one round) keeps `npm run bench` working.
  ["bench smoke test", "npm", ["run", "--silent", "bench", "--", "--quick"]],
];

/** vitest with the usual console report plus a JSON one, summed up at the end. */
function vitest(config, name) {
  return ["run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${report(name)}`];
}
function report(name) {
  return path.join(root, "dist", "test-reports", `${name}.json`);
}
rmSync(path.join(root, "dist", "test-reports"), { recursive: true, force: true });
// The logs of this run only: the scan after the end-to-end tests reads every file there.
rmSync(path.join(root, "dist", "test-logs"), { recursive: true, force: true });
mkdirSync(path.join(root, "dist", "test-reports"), { recursive: true });

for (const [title, command, args] of steps) {
  console.log(`\n== ${title}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\nnpm test: ${title} failed`);
    summarize();
    process.exit(result.status ?? 1);
  }
}
process.exit(summarize().failed === 0 ? 0 : 1);

/** Prints the plain `N passed, N failed` line over every suite that reported. */
function summarize() {
  let passed = 0;
  let failed = 0;
  for (const name of ["workers", "e2e"]) {
    if (!existsSync(report(name))) continue;
    const result = JSON.parse(readFileSync(report(name), "utf8"));
    passed += result.numPassedTests;
    failed += result.numFailedTests;
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return { passed, failed };
}
