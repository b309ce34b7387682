#!/usr/bin/env -S npx tsx
// `npm run check-config [-- --env <name>]`: validates wrangler.toml's [vars] (of the top level, or
// of one of its [env.<name>] sections) with the Worker's own schema (src/config.ts), and exits 1
// with one line per bad key, naming the key and its value, e.g.
//   wrangler.toml [vars] TAG_EXPIRATION_OPTIONS: not a span: "2x"
// `npm start` runs the same check on the vars it serves with (scripts/start.mjs, through
// `problemsOf`), and the deploy runs it before deploying, so a bad value never reaches a Worker.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configIssues, describeIssue } from "../src/config";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * The problems of `vars` (a Worker's bindings), one line each: where the value comes from (what
 * `sourceOf` says for its key), the key, what is wrong, and the value.
 */
export function problemsOf(vars: Record<string, unknown>, sourceOf: (key: string) => string): string[] {
  return configIssues(vars).map((issue) => `${sourceOf(issue.key)} ${describeIssue(issue)}`);
}

/** wrangler.toml's [vars] as wrangler reads them (an [env.<name>] section's with `environment`). */
async function wranglerVars(environment: string | undefined): Promise<Record<string, unknown>> {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: path.join(root, "wrangler.toml"), env: environment });
  return { ...config.vars };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--env");
  const environment = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !environment) {
    console.error("usage: npm run check-config [-- --env <name>]");
    return 2;
  }
  const section = environment ? `wrangler.toml [env.${environment}.vars]` : "wrangler.toml [vars]";
  const problems = problemsOf(await wranglerVars(environment), () => section);
  for (const line of problems) console.error(line);
  if (problems.length > 0) return 1;
  console.log(`${section}: the configuration is valid`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
