#!/usr/bin/env node
// `npm start`: apply the D1 migrations to the local database, then serve the Worker with local
// D1, R2, Durable Objects and Queues whose state lives under .wrangler/state (or $WHARF_STATE_DIR)
// and survives restarts. Listens on $PORT (default 8787) at $HOST (default 127.0.0.1).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const port = process.env.PORT || "8787";
const host = process.env.HOST || "127.0.0.1";
const stateDir = path.resolve(root, process.env.WHARF_STATE_DIR || ".wrangler/state");
const wrangler = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
// wrangler needs Node 22; the `node` package pinned in devDependencies ships it, so use that
// binary even when this script was started by an older system Node.
const pinnedNode = path.join(root, "node_modules", "node", "bin", "node");
const node = existsSync(pinnedNode) ? pinnedNode : process.execPath;
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  // wrangler and its workerd need Node 22: the node package pinned in devDependencies ships it.
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
};

const migrate = spawnSync(
  node,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir],
  { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
);
if (migrate.status !== 0) {
  process.stdout.write(migrate.stdout ?? "");
  console.error("wharf: applying the D1 migrations failed");
  process.exit(migrate.status ?? 1);
}

const dev = spawn(
  node,
  [
    wrangler, "dev",
    "--port", port,
    "--ip", host,
    "--persist-to", stateDir,
    "--show-interactive-dev-session=false",
    "--log-level", process.env.WHARF_LOG_LEVEL || "warn",
  ],
  { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] },
);

const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${port}`;
waitUntilReady(`${url}/v2/`).then(
  () => console.log(`wharf: registry ready on ${url} (state in ${path.relative(root, stateDir) || "."})`),
  (err) => console.error(`wharf: ${err.message}`),
);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => dev.kill(signal));
}
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

async function waitUntilReady(target, deadline = Date.now() + 60_000) {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(target);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${target} within 60 s`);
}
