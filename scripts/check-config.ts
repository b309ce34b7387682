#!/usr/bin/env -S npx tsx
// `npm run check-config [-- --env <name>] [-- --config <file>]`: validates wrangler.toml's [vars]
// (of the top level, or of one of its [env.<name>] sections; another file's with --config) with the Worker's own schema (src/config.ts), and exits 1
// with one line per bad key, naming the key and its value, e.g.
//   wrangler.toml [vars] TAG_EXPIRATION_OPTIONS: not a span: "2x"
// `npm start` runs the same check on the vars it serves with (scripts/start.mjs, through
// `problemsOf`), and the deploy runs it before deploying, so a bad value never reaches a Worker.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configIssues, describeIssue } from "../src/config";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * The problems of `vars` (a Worker's bindings), one line each: where the value comes from (what
 * `sourceOf` says for its key), the key, what is wrong, and the value.
 */
export function problemsOf(
  vars: Record<string, unknown>,
  sourceOf: (key: string) => string,
  secrets: Record<string, unknown> | null = vars,
): string[] {
  return configIssues(vars, secrets).map((issue) => `${sourceOf(issue.key)} ${describeIssue(issue)}`);
}

/** wrangler.toml's [vars] as wrangler reads them (an [env.<name>] section's with `environment`). */
async function wranglerVars(file: string, environment: string | undefined): Promise<Record<string, unknown>> {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: file, env: environment });
  return { ...config.vars };
}

/** The value of `--name value` among `args`: undefined when absent, null when it has no value. */
function option(args: string[], name: string): string | undefined | null {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  return value && !value.startsWith("--") ? value : null;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const environment = option(args, "--env");
  const file = option(args, "--config");
  if (environment === null || file === null) {
    console.error("usage: npm run check-config [-- --env <name>] [--config <wrangler.toml>]");
    return 2;
  }
  const configFile = path.resolve(file ?? path.join(root, "wrangler.toml"));
  const name = path.basename(configFile);
  const section = environment ? `${name} [env.${environment}.vars]` : `${name} [vars]`;
  // wrangler falls back to the top level for an environment it does not find: say so instead.
  const toml = readFileSync(configFile, "utf8");
  if (environment && !toml.split("\n").some((line) => line.trim().startsWith(`[env.${environment}`))) {
    console.error(`${name} has no [env.${environment}] section`);
    return 1;
  }
  // Secrets live in `wrangler secret put`, not in the file: the deploy names those an enabled
  // setting needs (scripts/deploy/plan.mjs secretNotes), and the Worker answers 503 without them.
  const problems = problemsOf(await wranglerVars(configFile, environment), () => section, null);
  for (const line of problems) console.error(line);
  if (problems.length > 0) return 1;
  console.log(`${section}: the configuration is valid`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
