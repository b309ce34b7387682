// Running wrangler for `npm run deploy` and reading what its list commands print (wrangler 4.155.0:
// `d1 list --json` and `secret list` print JSON; `r2 bucket list` prints `name:` lines and
// `queues list` a table, neither having a JSON form).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";

/** A step that failed: its name, the command to run by hand, and what the command said. */
export class StepError extends Error {
  constructor(step, command, detail) {
    super(`${step} failed`);
    this.step = step;
    this.command = command;
    this.detail = detail;
  }
}

/**
 * The project's own wrangler (node_modules/.bin, what `npx wrangler` runs) or else the one on PATH.
 * wrangler 4 needs Node 22: the `node` devDependency's binary goes first on PATH, as `npm run`
 * arranges for every script.
 */
export function wranglerRunner({ projectDir, repoRoot, configArgs, redact }) {
  const local = path.join(projectDir, "node_modules", ".bin", "wrangler");
  const binary = existsSync(local) ? local : "wrangler";
  const pinnedNode = path.join(repoRoot, "node_modules", "node", "bin");
  const env = { ...process.env };
  if (existsSync(pinnedNode)) env.PATH = `${pinnedNode}${path.delimiter}${env.PATH ?? ""}`;

  /** `npx wrangler …` as an operator types it, for messages and the plan. */
  const display = (args) => ["npx", "wrangler", ...args, ...configArgs].join(" ");

  /**
   * Runs wrangler with `args`: stdin is `input` (or nothing: wrangler then takes its
   * non-interactive defaults, so it never waits on a prompt); `echo` streams its output on too.
   */
  function run(args, { input, echo = false } = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(binary, [...args, ...configArgs], { cwd: projectDir, env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        if (echo) process.stdout.write(redact(chunk.toString()));
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        if (echo) process.stderr.write(redact(chunk.toString()));
      });
      child.on("error", (error) => reject(error.code === "ENOENT" ? new WranglerMissing(local) : error));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.on("error", () => {}); // wrangler may exit before reading it all
      child.stdin.end(input ?? "");
    });
  }

  /** Runs a step's command; a non-zero exit becomes a StepError naming the step. */
  async function step(name, args, options) {
    const result = await run(args, options);
    if (result.code !== 0) throw new StepError(name, display(args), redact(`${result.stdout}${result.stderr}`));
    return result;
  }

  return { run, step, display };
}

export class WranglerMissing extends Error {
  constructor(local) {
    super(`wrangler was not found (neither ${local} nor on PATH)`);
  }
}

/** The JSON a `--json` command printed (after any banner or notice lines). */
export function jsonOutput(stdout) {
  const text = stripVTControlCharacters(stdout);
  const start = text.search(/^[[{]/m);
  if (start < 0) throw new Error("no JSON in wrangler's output");
  return JSON.parse(text.slice(start));
}

/** Bucket names from `wrangler r2 bucket list`: a `name:` line per bucket. */
export function bucketNames(stdout) {
  return [...stripVTControlCharacters(stdout).matchAll(/^name:\s+(\S+)\s*$/gm)].map((match) => match[1]);
}

/** Rows of the table `wrangler queues list` prints, as objects keyed by the header's cells. */
export function tableRows(stdout) {
  const rows = stripVTControlCharacters(stdout)
    .split("\n")
    .filter((line) => line.trim().startsWith("│"))
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split("│")
        .map((cell) => cell.trim()),
    );
  const [head, ...body] = rows;
  if (!head) return [];
  return body.map((cells) => Object.fromEntries(head.map((key, index) => [key, cells[index] ?? ""])));
}

/** Whether `wrangler secret list` failed only because the Worker was never deployed. */
export function workerNotFound(result) {
  return /Worker "[^"]*"(?: \(env: [^)]*\))? not found/.test(stripVTControlCharacters(result.stdout + result.stderr));
}
