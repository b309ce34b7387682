#!/usr/bin/env node
// `npm start`: apply the D1 migrations to the local database, bundle the Worker as `wrangler
// deploy` would, and serve it through Miniflare: one workerd with local D1, R2, Durable Objects,
// Queues and the UI assets, configured from wrangler.toml. State lives under .wrangler/state (or
// $WHARF_STATE_DIR) and survives restarts; it is the same layout `wrangler dev` uses, so
// `npm run dev` (wrangler dev, with reload on change) serves the same data.
//
// Why not `wrangler dev` here: it puts a proxy workerd in front of the Worker, which measured
// 1.5-6x slower on this machine (../shared/reference/platform-experiments.md).
// Listens on $PORT (default 8787) at $HOST (default 127.0.0.1).
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { applyLocalMigrations } from "./local-migrations.mjs";
import { localS3, localS3Worker } from "./local-s3.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pinnedNode = path.join(root, "node_modules", "node", "bin", "node");

// wrangler and Miniflare need Node 22, and scripts/outbound-service.ts Node's type stripping
// (22.18 and later); the `node` package pinned in devDependencies ships both.
if ((Number(process.versions.node.split(".")[0]) < 22 || !process.features.typescript) && existsSync(pinnedNode)) {
  const child = spawn(pinnedNode, process.argv.slice(1), { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await serve();
}

async function serve() {
  const port = Number(process.env.PORT || 8787);
  const host = process.env.HOST || "127.0.0.1";
  const stateDir = path.resolve(root, process.env.WHARF_STATE_DIR || ".wrangler/state");
  // Per state directory: registries started side by side (tests, the bench) never share a bundle
  // that another one is rewriting.
  const bundleDir = path.join(stateDir, "bundle");
  const wrangler = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

  const run = (what, args) => {
    const result = spawnSync(process.execPath, [wrangler, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    });
    if (result.status !== 0) {
      process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
      console.error(`wharf: ${what} failed`);
      process.exit(result.status ?? 1);
    }
  };
  // The UI first: wrangler's reading of the [assets] below wants its folder.
  buildUi();

  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig, unstable_splitSqlQuery } = await import("wrangler");
  // The bindings, Durable Objects, queues and assets exactly as wrangler.toml declares them.
  const configPath = path.join(root, "wrangler.toml");
  const { name, d1_databases: d1Databases = [] } = unstable_readConfig({ config: configPath });
  const d1Bindings = d1Databases.map((d1) => d1.binding).filter((b) => b === "DB" || /^DB_SHARD_[1-9]\d*$/.test(b));
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  const { modulesRules: _rules, email: _email, assets, ...options } = workerOptions;
  // The optional redirect of blob bytes (BLOB_REDIRECT) from the environment, over wrangler.toml's.
  const redirectVars = {
    ...options.bindings,
    ...fromEnvironment(["BLOB_REDIRECT", "BLOB_REDIRECT_TTL_SECONDS", "R2_S3_ENDPOINT", "R2_BUCKET_NAME"]),
  };
  const redirecting = redirectVars.BLOB_REDIRECT === "true";
  const secrets = localSecrets(stateDir, redirecting);
  const s3 = redirecting ? await localS3(redirectVars, host) : undefined;
  const mailDir = path.join(stateDir, "mail");
  mkdirSync(mailDir, { recursive: true });
  // ALLOW_PRIVATE_OUTBOUND from the environment (else wrangler.toml's, empty): the Worker's guard
  // judges hosts as written, the outbound service what names resolve to (issue #12).
  const allowPrivateOutbound = process.env.ALLOW_PRIVATE_OUTBOUND ?? options.bindings?.ALLOW_PRIVATE_OUTBOUND ?? "";
  const { outboundService } = await import("./outbound-service.ts");
  let outbound;
  try {
    outbound = outboundService(allowPrivateOutbound);
  } catch (err) {
    console.error(`wharf: ${err.message}`);
    process.exit(1);
  }
  const bindings = {
    ...options.bindings,
    ...loginSettings(options.bindings),
    ...fairUseSettings(options.bindings),
    ...mailSettings(),
    ...secrets,
    ALLOW_PRIVATE_OUTBOUND: allowPrivateOutbound,
    // The quota settings (src/quota/) from the environment, when given, over wrangler.toml's.
    ...fromEnvironment(["FEATURE_QUOTA_MANAGEMENT", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"]),
    // FEATURE_PROXY_CACHE likewise (the proxy cache's end-to-end tests turn it on).
    ...fromEnvironment(["FEATURE_PROXY_CACHE"]),
    // The bench's dev-only D1 statement count (src/db/query-counter.ts) likewise.
    ...fromEnvironment(["BENCH_COUNT_D1"]),
    // MAX_REQUEST_BODY likewise (src/registry/body-limits.ts): its end-to-end test sets it small.
    ...fromEnvironment(["MAX_REQUEST_BODY"]),
    // The security scanner (issue #18) likewise: its end-to-end tests turn it on.
    ...fromEnvironment(["FEATURE_SECURITY_SCANNER", "SECURITY_SCANNER_V4_PSK"]),
    // External OIDC sign-in (src/lib/oidc-providers.ts) from the environment, when given.
    ...fromEnvironment(["OIDC_PROVIDERS", "OIDC_CLIENT_SECRETS"]),
    // The log sink (src/events/logs-sink.ts) from the environment, when given.
    ...(process.env.ACTION_LOG_SINK_URL
      ? {
          ACTION_LOG_SINK_URL: process.env.ACTION_LOG_SINK_URL,
          ACTION_LOG_SINK_TOKEN: process.env.ACTION_LOG_SINK_TOKEN ?? "",
        }
      : {}),
    // Quay's read-only mode for a run (REGISTRY_STATE=readonly npm start), over wrangler.toml's.
    ...fromEnvironment(["REGISTRY_STATE"]),
    // BLOB_REDIRECT: presigned URLs name the local S3 stand-in below (production: R2's endpoint).
    ...(s3
      ? {
          ...fromEnvironment(["BLOB_REDIRECT", "BLOB_REDIRECT_TTL_SECONDS", "R2_BUCKET_NAME"]),
          R2_S3_ENDPOINT: s3.endpoint,
        }
      : {}),
  };
  // First, before anything is built or migrated: a bad value stops here, named.
  await refuseInvalidConfiguration(bindings);
  // Every D1 database: DB and each shard wrangler.toml declares (DB_SHARD_<n>, src/db/shards.ts), one
  // migrations_dir for all, each its own sqlite file under the state directory; applied in this
  // process as `wrangler d1 migrations apply --local` would (scripts/local-migrations.mjs says why).
  try {
    await applyLocalMigrations({
      Miniflare,
      convertV4MiniflareOptions,
      splitSqlQuery: unstable_splitSqlQuery,
      root,
      persistPath: path.join(stateDir, "v3"),
      compatibilityDate: options.compatibilityDate,
      d1Databases: options.d1Databases,
      databases: d1Databases.filter((d1) => d1Bindings.includes(d1.binding)),
    });
  } catch (err) {
    console.error(`wharf: applying the D1 migrations failed: ${err?.message ?? err}`);
    process.exit(1);
  }
  run("bundling the Worker", ["deploy", "--dry-run", "--outdir", bundleDir]);
  // The UI's assets are served by a second, assets-only worker that the registry reaches through
  // its ASSETS binding. Miniflare would otherwise put an assets router and an RPC proxy worker in
  // front of every request: measured here, /health/live 1,386 req/s that way and 3,427 without.
  // In production Cloudflare routes `run_worker_first` paths straight to the Worker.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      resourcePersistencePath: path.join(stateDir, "v3"),
      // Miniflare's own entry socket (its entry worker rewrites and logs every request) listens on
      // a loopback port nobody is told about; clients reach the registry's socket below.
      host: "127.0.0.1",
      port: 0,
      // $WHARF_INSPECTOR_PORT opens workerd's V8 inspector, for CPU profiles (bench/profile.ts).
      ...(process.env.WHARF_INSPECTOR_PORT ? { inspectorPort: Number(process.env.WHARF_INSPECTOR_PORT) } : {}),
      workers: [
        {
          // Named as in wrangler.toml, so Durable Object state is shared with `npm run dev`.
          name,
          ...options,
          // Requests go straight to the Worker, as in production. Through Miniflare's entry
          // worker, measured: ~22% of workerd's CPU per manifest GET was that worker's JavaScript.
          unsafeDirectSockets: [{ host, port }],
          bindings,
          // Every fetch the Worker makes leaves through the outbound service (scripts/outbound-service.ts).
          outboundService: outbound,
          modules: [{ type: "ESModule", path: path.join(bundleDir, "index.js") }],
          modulesRoot: bundleDir,
          // The dev mailer's folder (src/mail/transports.ts): workerd writes each PUT .eml there.
          serviceBindings: { ASSETS: `${name}-ui`, DEV_MAILBOX: { disk: { path: mailDir, writable: true } } },
        },
        // BLOB_REDIRECT only: the local stand-in for R2's S3 API (scripts/r2-s3-local.mjs), on
        // the same BLOBS bucket and state, checking the presigned URLs the registry hands out.
        ...(s3
          ? [
              localS3Worker(s3, {
                name,
                compatibilityDate: options.compatibilityDate,
                r2Buckets: options.r2Buckets,
                bucketName: bindings.R2_BUCKET_NAME,
                secrets,
              }),
            ]
          : []),
        {
          name: `${name}-ui`,
          modules: true,
          script: "export default { fetch: () => new Response(null, { status: 404 }) };",
          compatibilityDate: options.compatibilityDate,
          assets: {
            directory: assets.directory,
            routerConfig: { has_user_worker: false },
            assetConfig: assets.assetConfig,
          },
        },
      ],
    }),
  );
  await mf.ready;
  const url = await mf.unsafeGetDirectURL(name);
  let stopping = false;
  let stopTicks = () => {};
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    stopTicks();
    await mf.dispose();
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, stop);
  // The superuser first, so that "ready" means ready to log in.
  // A read-only registry creates no account (its initialize answers 503): nothing to bootstrap.
  if (bindings.REGISTRY_STATE !== "readonly") await bootstrapAdmin(url.origin);
  else console.log("wharf: read-only (REGISTRY_STATE=readonly): pulls and reads only, no superuser bootstrap");
  if (s3)
    console.log(
      `wharf: BLOB_REDIRECT is on: blob GETs redirect to the local S3 stand-in at ${s3.endpoint} (in production, R2's S3 endpoint)`,
    );
  console.log(`wharf: registry ready on ${url.origin} (state in ${path.relative(root, stateDir) || "."})`);
  stopTicks = startScheduledTicks(mf, name, () => stopping);
}

/**
 * Validates the vars the Worker is about to be served with (wrangler.toml's [vars] and the
 * environment's overrides above) with the Worker's own schema (src/config.ts, loaded through tsx,
 * as `npm run check-config` does), and refuses to start on a bad value, naming the key, the value
 * and where it came from.
 */
async function refuseInvalidConfiguration(bindings) {
  const { tsImport } = await import("tsx/esm/api");
  const { problemsOf } = await tsImport("./check-config.ts", import.meta.url);
  const problems = problemsOf(bindings, (key) =>
    process.env[key] !== undefined && bindings[key] === process.env[key] ? "environment" : "wrangler.toml [vars]",
  );
  if (problems.length === 0) return;
  for (const line of problems) console.error(`wharf: ${line}`);
  console.error("wharf: refusing to start with an invalid configuration");
  process.exit(1);
}

/**
 * Builds the web UI (ui/ into ui/dist, as `npm run build:ui`) when ui/dist is missing or older than
 * any of its sources, so a fresh clone serves its sign-in page with nothing to build by hand.
 */
function buildUi() {
  const ui = path.join(root, "ui");
  const built = path.join(ui, "dist", "index.html");
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      if (entry.name === "dist" && dir === ui) return latest;
      const file = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(file) : statSync(file).mtimeMs);
    }, 0);
  if (existsSync(built) && statSync(built).mtimeMs >= newest(ui)) return;
  const vite = path.join(root, "node_modules", "vite", "bin", "vite.js");
  const result = spawnSync(
    process.execPath,
    [vite, "build", "--config", path.join(ui, "vite.config.ts"), "--logLevel", "warn"],
    {
      cwd: root,
      // A production build whatever this process runs under (the end-to-end tests' runner sets
      // NODE_ENV=test, which would give React's development build, twice the size).
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  if (result.status !== 0) {
    console.error("wharf: building the web UI failed");
    process.exit(result.status ?? 1);
  }
}

/**
 * Miniflare does not fire Cron Triggers by itself: call the Worker's scheduled handler (garbage
 * collection, auto-prune) every $WHARF_GC_INTERVAL_SECONDS seconds (default 60, as wrangler.toml's
 * cron; 0 turns it off), one run at a time. A failed run is logged; the server keeps serving.
 */
function startScheduledTicks(mf, name, stopping) {
  const seconds = Number(process.env.WHARF_GC_INTERVAL_SECONDS || 60);
  if (!Number.isFinite(seconds) || seconds <= 0) return () => {};
  let running = false;
  const tick = async () => {
    if (running || stopping()) return;
    running = true;
    try {
      const worker = await mf.getWorker(name);
      const result = await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
      if (result.outcome !== "ok") console.error(`wharf: scheduled run ended with outcome ${result.outcome}`);
    } catch (err) {
      if (!stopping()) console.error(`wharf: scheduled run failed: ${err instanceof Error ? err.message : err}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, seconds * 1000);
  return () => clearInterval(timer);
}

/**
 * The login limits' [vars] (LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, LOGIN_BACKOFF_MAX)
 * as set in the environment, over wrangler.toml's: every local client shares one address, so a
 * test run or a shared machine may need other values.
 */
function loginSettings(vars) {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name.startsWith("LOGIN_") && typeof vars[name] === "string"),
  );
}

/**
 * The fair-use budgets' [vars] (FAIR_USE_*: src/fairuse/budgets.ts) as set in the environment, over
 * wrangler.toml's "0" (off), so a local run (and the noisy/quiet tenant test) can turn them on.
 */
function fairUseSettings(vars) {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name.startsWith("FAIR_USE_") && typeof vars[name] === "string"),
  );
}

/**
 * Mail settings from the environment over wrangler.toml's: MAIL_TRANSPORT defaults to `dev` here
 * (one .eml per message in <state>/mail/, where nothing leaves the machine), and FEATURE_MAILING,
 * MAIL_FROM and REGISTRY_TITLE_SHORT may be set for a run.
 */
function mailSettings() {
  return {
    MAIL_TRANSPORT: process.env.MAIL_TRANSPORT || "dev",
    ...fromEnvironment(["FEATURE_MAILING", "MAIL_FROM", "REGISTRY_TITLE_SHORT"]),
  };
}

/** The variables among `names` that this process's environment sets, as bindings. */
function fromEnvironment(names) {
  return Object.fromEntries(
    names.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]),
  );
}

/**
 * Secrets that production sets with `wrangler secret put`, generated once per state directory so
 * that data encrypted under them survives restarts. The file is readable by its owner only.
 */
function localSecrets(stateDir, redirecting) {
  const file = path.join(stateDir, "secrets.json");
  const known = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const generate = {
    WHARF_SECRET_KEY: () => randomBytes(32).toString("base64"),
    WHARF_TOKEN_KEY: () =>
      JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
    // BLOB_REDIRECT's S3 key pair, which only the local stand-in accepts (production: an R2 API token's).
    ...(redirecting
      ? {
          R2_ACCESS_KEY_ID: () => randomBytes(16).toString("hex"),
          R2_SECRET_ACCESS_KEY: () => randomBytes(32).toString("hex"),
        }
      : {}),
  };
  const missing = Object.keys(generate).filter((name) => !known[name]);
  const secrets = { ...known, ...Object.fromEntries(missing.map((name) => [name, generate[name]()])) };
  if (missing.length > 0) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  // Kept in the file across runs, the S3 key pair is bound only while BLOB_REDIRECT is on.
  if (!redirecting) for (const name of ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]) delete secrets[name];
  return secrets;
}

/**
 * On an empty registry, creates the superuser `admin` through Quay's first-user endpoint
 * (POST /api/v1/user/initialize), with $WHARF_ADMIN_PASSWORD or a random password printed once.
 * WHARF_BOOTSTRAP_ADMIN=false skips it; a registry that has users answers 400 and nothing changes.
 */
async function bootstrapAdmin(origin) {
  if (process.env.WHARF_BOOTSTRAP_ADMIN === "false") return;
  const given = process.env.WHARF_ADMIN_PASSWORD;
  const password = given || randomBytes(18).toString("base64url");
  const res = await fetch(`${origin}/api/v1/user/initialize`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "admin", password, email: process.env.WHARF_ADMIN_EMAIL || "admin@example.com" }),
  });
  if (res.ok) {
    console.log(
      given
        ? "wharf: superuser admin created with $WHARF_ADMIN_PASSWORD"
        : `wharf: superuser admin created, password: ${password}`,
    );
    return;
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status === 400 && /non-empty/.test(answer.error_message ?? "")) return;
  console.error(`wharf: could not bootstrap the superuser admin: ${res.status} ${answer.error_message ?? ""}`);
}
