#!/usr/bin/env node
// `npm test`: every test, in order: type check, the workerd suite (units and routes), then the
// end-to-end suite (real clients and the reference registry against `npm start`).
import { spawnSync } from "node:child_process";
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
  ["type check", "npm", ["run", "--silent", "typecheck"]],
  ["deploy bundle (dry run)", "wrangler", ["deploy", "--dry-run", "--outdir", "dist"]],
  ["workerd tests", "vitest", ["run", "--config", "vitest.workers.config.mts"]],
  ["end-to-end tests", "vitest", ["run", "--config", "vitest.e2e.config.mts"]],
];

for (const [title, command, args] of steps) {
  console.log(`\n== ${title}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\nnpm test: ${title} failed`);
    process.exit(result.status ?? 1);
  }
}
