#!/usr/bin/env node
// A stand-in for wrangler 4.155.0 on PATH, for test/e2e/deploy-script.test.ts: a Cloudflare
// account kept in $FAKE_WRANGLER_STATE (JSON), every call appended to $FAKE_WRANGLER_LOG (JSONL),
// and each command answering as the real one prints (its list formats are the ones
// scripts/deploy/wrangler-cli.mjs reads: `d1 list --json`, `r2 bucket list`'s `name:` lines,
// `queues list`'s table, `secret list`'s JSON, `whoami --json`). It refuses what wrangler refuses
// (a bad --location or --jurisdiction choice, a jurisdiction with a location for R2) and what the API
// refuses (a name taken, a deploy whose bindings name resources that do not exist).
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const stateFile = process.env.FAKE_WRANGLER_STATE;
const state = JSON.parse(readFileSync(stateFile, "utf8"));
const argv = process.argv.slice(2);
const stdin = process.stdin.isTTY ? "" : readFileSync(0, "utf8");
appendFileSync(process.env.FAKE_WRANGLER_LOG, `${JSON.stringify({ argv, cwd: process.cwd() })}\n`);

const BANNER = "\n ⛅️ wrangler 4.155.0\n───────────────────\n";
const LOCATIONS = ["weur", "eeur", "apac", "oc", "wnam", "enam"];

function flag(name, alias) {
  for (const key of [name, alias].filter(Boolean)) {
    const at = argv.indexOf(key);
    if (at >= 0) return argv[at + 1];
    const joined = argv.find((arg) => arg.startsWith(`${key}=`));
    if (joined) return joined.slice(key.length + 1);
  }
  return undefined;
}
function fail(message) {
  process.stderr.write(`\n✘ [ERROR] ${message}\n\n`);
  process.exit(1);
}
function choice(name, value, choices) {
  if (value !== undefined && !choices.includes(value))
    fail(
      `Invalid values:\n  Argument: ${name}, Given: "${value}", Choices: ${choices.map((c) => `"${c}"`).join(", ")}`,
    );
}
function save() {
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
}
/** The wrangler.toml in use: --config, or the one in the working directory. */
function config() {
  const file = flag("--config", "-c") ?? path.join(process.cwd(), "wrangler.toml");
  if (!existsSync(file)) fail(`Missing entry-point: no config file at ${file}`);
  const text = readFileSync(file, "utf8");
  const value = (key, after = 0) => text.slice(after).match(new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
  const r2At = text.indexOf("[[r2_buckets]]");
  const r2End = text.indexOf("\n[", r2At + 2);
  const r2 = text.slice(r2At, r2End < 0 ? undefined : r2End);
  // Every [[d1_databases]] block (comments aside): its binding and id.
  const d1 = text
    .split(/^\[\[d1_databases\]\]\s*$/m)
    .slice(1)
    .map((block) => block.split(/^\[/m)[0])
    .map((block) => ({
      binding: block.match(/^binding\s*=\s*"([^"]*)"/m)?.[1],
      id: block.match(/^database_id\s*=\s*"([^"]*)"/m)?.[1],
    }));
  return {
    name: value("name"),
    databaseId: value("database_id"),
    d1,
    bucket: r2.match(/^bucket_name\s*=\s*"([^"]*)"/m)?.[1],
    bucketJurisdiction: r2.match(/^jurisdiction\s*=\s*"([^"]*)"/m)?.[1],
    queues: [...text.matchAll(/^(?:queue|dead_letter_queue)\s*=\s*"([^"]*)"/gm)].map((m) => m[1]),
  };
}
function table(rows) {
  if (rows.length === 0) return "┌┐\n└┘";
  const head = Object.keys(rows[0]);
  const widths = head.map((key) => Math.max(key.length, ...rows.map((row) => String(row[key]).length)) + 2);
  const line = (l, m, r) => l + widths.map((w) => "─".repeat(w)).join(m) + r;
  const cells = (values) => `│${values.map((v, i) => ` ${String(v).padEnd(widths[i] - 1)}`).join("│")}│`;
  return [
    line("┌", "┬", "┐"),
    cells(head),
    line("├", "┼", "┤"),
    ...rows.map((row) => cells(head.map((key) => row[key]))),
    line("└", "┴", "┘"),
  ].join("\n");
}

const command = argv
  .filter((arg) => !arg.startsWith("-"))
  .slice(0, 3)
  .join(" ");
// A failure on purpose; a careless wrangler that echoes what it was given, to prove the deploy
// script hides secret values even then.
// It echoes the value again as parsed JSON, re-encoded, as a tool that reformats its input might.
if (state.failOn && argv.join(" ").startsWith(state.failOn)) {
  let reencoded = "";
  try {
    reencoded = `\n  as parsed: ${JSON.stringify(JSON.parse(stdin), null, 2)}`;
  } catch {
    // not JSON: echoed as given only
  }
  fail(
    `A request to the Cloudflare API (/accounts/0123) failed.\n  Internal error [code: 10000]\n  input: ${stdin}${reencoded}`,
  );
}

if (argv[0] === "--version") {
  console.log("4.155.0");
} else if (argv[0] === "whoami") {
  if (!state.loggedIn) {
    console.log('{"loggedIn":false}');
    process.exit(1);
  }
  console.log(
    JSON.stringify({
      loggedIn: true,
      authType: "OAuth Token",
      email: "newcomer@example.com",
      accounts: state.accounts,
    }),
  );
} else if (command.startsWith("d1 list")) {
  const dbs = state.d1.map((db) => ({
    uuid: db.uuid,
    name: db.name,
    created_at: "2026-12-07T05:00:00.000Z",
    version: "production",
    num_tables: 0,
    file_size: 12288,
  }));
  console.log(JSON.stringify(dbs, null, 2));
} else if (command.startsWith("d1 create")) {
  const [name, location, jurisdiction] = [argv[2], flag("--location"), flag("--jurisdiction")];
  choice("location", location, LOCATIONS);
  choice("jurisdiction", jurisdiction, ["eu", "fedramp", "us"]);
  if (state.d1.some((db) => db.name === name)) fail("A database with that name already exists [code: 7502]");
  const db = { uuid: randomUUID(), name, location, jurisdiction };
  state.d1.push(db);
  save();
  console.log(`${BANNER}✅ Successfully created DB '${name}'${location ? ` using primary location hint ${location}` : ""}
Created your new D1 database.

To access your new D1 Database in your Worker, add the following snippet to your configuration file:
[[d1_databases]]
binding = "${name}"
database_name = "${name}"
database_id = "${db.uuid}"`);
} else if (command.startsWith("r2 bucket list")) {
  const jurisdiction = flag("--jurisdiction", "-J");
  const buckets = state.r2.filter((bucket) => bucket.jurisdiction === jurisdiction);
  console.log(`${BANNER}Listing buckets...`);
  console.log(buckets.map((b) => `name:           ${b.name}\ncreation_date:  2026-12-07T05:00:00.000Z`).join("\n\n"));
} else if (command.startsWith("r2 bucket create")) {
  const [name, location, jurisdiction] = [argv[3], flag("--location"), flag("--jurisdiction", "-J")];
  choice("location", location, LOCATIONS);
  if (location && jurisdiction) fail("Provide either a jurisdiction or location hint - not both.");
  if (state.r2.some((b) => b.name === name && b.jurisdiction === jurisdiction))
    fail("The bucket you tried to create already exists, and you own it. [code: 10004]");
  state.r2.push({ name, jurisdiction, location });
  save();
  const full = jurisdiction ? `${name} (${jurisdiction})` : name;
  console.log(
    `${BANNER}Creating bucket '${full}'...\n✅ Created bucket '${full}' with default storage class of Standard.`,
  );
} else if (command.startsWith("queues list")) {
  const page = Number(flag("--page") ?? 1);
  const size = state.queuesPageSize ?? 20;
  const rows = state.queues.slice((page - 1) * size, page * size).map((q) => ({
    id: q.id,
    name: q.name,
    created_on: "2026-12-07T05:00:00.000Z",
    modified_on: "2026-12-07T05:00:00.000Z",
    producers: "0",
    consumers: "0",
  }));
  console.log(`${BANNER}${table(rows)}`);
} else if (command.startsWith("queues create")) {
  const [name, jurisdiction] = [argv[2], flag("--jurisdiction")];
  choice("jurisdiction", jurisdiction, ["eu", "us", "fedramp"]);
  if (state.queues.some((q) => q.name === name)) fail(`Queue name '${name}' is already taken. [code: 11009]`);
  state.queues.push({ id: randomUUID().replaceAll("-", ""), name, jurisdiction });
  save();
  console.log(`${BANNER}🌀 Creating queue '${name}'\n✅ Created queue '${name}'`);
} else if (command.startsWith("secret list")) {
  const worker = config().name;
  if (!state.workers[worker])
    fail(`Worker "${worker}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`);
  console.log(
    JSON.stringify(
      Object.keys(state.workers[worker].secrets).map((name) => ({ name, type: "secret_text" })),
      null,
      "  ",
    ),
  );
} else if (command.startsWith("secret put")) {
  const worker = config().name;
  if (!state.workers[worker]) {
    console.log(`🌀 Creating new Worker "${worker}"...`);
    state.workers[worker] = { secrets: {}, deployments: 0 };
  }
  console.log(`🌀 Creating the secret for the Worker "${worker}"`);
  state.workers[worker].secrets[argv[2]] = stdin.replace(/\s+$/, "");
  save();
  console.log(`✨ Success! Uploaded secret ${argv[2]}`);
} else if (command.startsWith("d1 migrations apply")) {
  if (!argv.includes("--remote")) fail("the fake wrangler only applies --remote migrations");
  const databaseId = config().d1.find((d) => d.binding === argv[3])?.id;
  const db = state.d1.find((d) => d.uuid === databaseId);
  if (!db) fail(`Couldn't find DB with name or binding '${argv[3]}' (database_id ${databaseId}) [code: 7404]`);
  db.migrationsApplied = (db.migrationsApplied ?? 0) + 1;
  save();
  console.log(`${BANNER}Migrations to be applied:\n│ 0000_init.sql │\n✅ 0000_init.sql`);
} else if (argv[0] === "deploy") {
  if (argv.includes("--dry-run")) {
    console.log(`${BANNER}Total Upload: 1234.56 KiB / gzip: 321.00 KiB\n--dry-run: exiting now.`);
  } else {
    const c = config();
    for (const { id } of c.d1)
      if (!state.d1.some((db) => db.uuid === id)) fail(`D1 database ${id} not found [code: 10181]`);
    if (!state.r2.some((b) => b.name === c.bucket && b.jurisdiction === c.bucketJurisdiction))
      fail(
        `R2 bucket '${c.bucket}' not found${c.bucketJurisdiction ? ` in jurisdiction ${c.bucketJurisdiction}` : ""} [code: 10085]`,
      );
    for (const queue of c.queues)
      if (!state.queues.some((q) => q.name === queue)) fail(`Queue "${queue}" does not exist.`);
    state.workers[c.name] ??= { secrets: {}, deployments: 0 };
    state.workers[c.name].deployments++;
    save();
    console.log(`${BANNER}Uploaded ${c.name} (3.21 sec)\nDeployed ${c.name} triggers (1.02 sec)
  https://${c.name}.newcomer.workers.dev
  schedule: * * * * *
Current Version ID: ${randomUUID()}`);
  }
} else {
  fail(`the fake wrangler does not know \`wrangler ${argv.join(" ")}\``);
}
