#!/usr/bin/env node
// `npm run deploy`: Wharf on the operator's own Cloudflare account, the README's "Deploying" steps
// in order: the configuration check, the web UI's build, wrangler's login, then only what is
// missing of the D1 database (its id written into wrangler.toml), the R2 bucket, the queues with the
// dead-letter queue and the two generated secrets, then the D1 migrations and the Worker (migrations
// before code: they are additive, so the version still running works on the new schema).
// `--dry-run` prints the plan and runs only read-only commands and `wrangler deploy --dry-run`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, stripVTControlCharacters } from "node:util";
import { migratedBindings, planSteps, SECRET_BY_HAND, SECRETS, secretNotes } from "./deploy/plan.mjs";
import { readAccount, survey } from "./deploy/survey.mjs";
import { StepError, WranglerMissing, wranglerRunner } from "./deploy/wrangler-cli.mjs";
import {
  deployConfig,
  parseToml,
  renamePrefix,
  serialize,
  setBucketJurisdiction,
  setDatabaseId,
  setShardDatabaseId,
} from "./deploy/wrangler-toml.mjs";

const repoRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const USAGE = `usage: npm run deploy -- [--dry-run] [--jurisdiction eu|fedramp|us | --location HINT] [--name PREFIX] [--config PATH]
  --dry-run        print the plan; run only read-only wrangler commands and \`wrangler deploy --dry-run\`
  --jurisdiction   create the D1 database, the R2 bucket and the queues in this jurisdiction (data stays in it)
  --location       location hint for the D1 database and the R2 bucket: weur eeur apac oc wnam enam (best effort)
  --name           name the Worker and its resources PREFIX, PREFIX-blobs, … (a second registry in one account)
  --config         the wrangler.toml to deploy (default: the repository's); its directory is the project`;
const JURISDICTIONS = ["eu", "fedramp", "us"];
const LOCATIONS = ["weur", "eeur", "apac", "oc", "wnam", "enam"];

class UsageError extends Error {}

/** Every generated secret value, so that no output of ours or wrangler's can show one. */
const secretValues = [];

/**
 * A generated value and the parts of it a tool could echo re-encoded: a JSON value's string
 * members (the token key is a JWK, and a reformatted echo would show its private `d` alone).
 */
function secretForms(value) {
  const forms = [value];
  try {
    const parsed = JSON.parse(value);
    if (parsed && typeof parsed === "object")
      for (const member of Object.values(parsed))
        if (typeof member === "string" && member.length >= 16) forms.push(member);
  } catch {
    // not JSON: the value alone
  }
  return forms;
}
const redact = (text) => secretValues.reduce((out, value) => out.split(value).join("[secret]"), text);

main().then(
  () => process.exit(0),
  (error) => {
    reportFailure(error);
    process.exit(1);
  },
);

async function main() {
  const options = readOptions(process.argv.slice(2));
  const configPath = path.resolve(options.config ?? path.join(repoRoot, "wrangler.toml"));
  const projectDir = path.dirname(configPath);
  if (!existsSync(configPath)) throw new UsageError(`no wrangler configuration at ${configPath}`);
  let doc = parseToml(readFileSync(configPath, "utf8"));
  const original = serialize(doc);
  if (options.name) doc = renamePrefix(doc, options.name);
  let config;
  try {
    config = deployConfig(doc);
  } catch (error) {
    throw new UsageError(`${configPath}: ${error.message}`);
  }
  const jurisdiction = chooseJurisdiction(options, config);
  const configArgs = path.basename(configPath) === "wrangler.toml" ? [] : ["--config", configPath];
  const wrangler = wranglerRunner({ projectDir, repoRoot, configArgs, redact });
  const save = () => {
    if (!options["dry-run"] && serialize(doc) !== readFileSync(configPath, "utf8"))
      writeFileSync(configPath, serialize(doc));
  };

  say(
    `Deploying the Worker ${config.workerName} (${configPath})${options["dry-run"] ? ": dry run, nothing changes" : ""}`,
  );
  checkConfig(projectDir, configPath);
  npmScript(projectDir, "build:ui", "build the web UI (ui/dist, the Worker's assets)");
  const account = await readAccount(wrangler, config);
  say(`Cloudflare account: ${account}`);
  const found = await survey(wrangler, config, jurisdiction);

  const plan = planSteps(config, found, options, jurisdiction);
  say("\nPlan:");
  for (const [action, what, args] of plan) {
    const byHand = args ? `  ${args[0] === "secret" ? "<generated> | " : ""}${wrangler.display(args)}` : "";
    say(`  ${action.padEnd(7)} ${what.padEnd(46)}${byHand}`);
  }
  for (const note of secretNotes(config, found.secrets)) say(`  note    ${note}`);

  if (options["dry-run"]) {
    say("\nBundling the Worker as `wrangler deploy` would (nothing is uploaded):");
    await wrangler.step("bundle the Worker (wrangler deploy --dry-run)", ["deploy", "--dry-run"], { echo: true });
    if (serialize(doc) !== original) say(`\n(dry run: ${configPath} would change; it was not written)`);
    say("\nDry run: nothing was created, written or deployed.");
    return;
  }

  /** The database's id and the bucket's jurisdiction into wrangler.toml, once they exist. */
  const recordInConfig = () => {
    if (found.database && found.database.uuid !== deployConfig(doc).databaseId) {
      doc = setDatabaseId(doc, found.database.uuid);
      say(`  wrote database_id = "${found.database.uuid}" into ${configPath}`);
    }
    for (const shard of deployConfig(doc).shards) {
      const made = found.shards[shard.binding];
      if (!made || made.uuid === shard.id) continue;
      doc = setShardDatabaseId(doc, shard.binding, made.uuid);
      say(`  wrote database_id = "${made.uuid}" into the ${shard.binding} binding of ${configPath}`);
    }
    if (found.bucket && jurisdiction && deployConfig(doc).bucketJurisdiction !== jurisdiction) {
      doc = setBucketJurisdiction(doc, jurisdiction);
      say(`  wrote jurisdiction = "${jurisdiction}" into the ${config.bucketName} binding of ${configPath}`);
    }
    save();
  };
  save(); // a --name rename first, so that what gets created and the file agree
  say("");
  for (const [action, what, args] of plan) {
    if (!["create", "put"].includes(action)) continue;
    if (action === "put") {
      const value = SECRETS[args[2]]();
      secretValues.push(...secretForms(value));
      await wrangler.step(`put the ${what}`, args, { input: value }).catch((error) => {
        throw new StepError(error.step, SECRET_BY_HAND[args[2]] + error.command, error.detail);
      });
    } else {
      await wrangler.step(`create the ${what}`, args);
      if (args[0] === "r2") found.bucket = true;
    }
    say(`  ${action === "put" ? "put" : "created"} ${what}`);
    if (args[0] === "d1") {
      const listed = await survey(wrangler, config, jurisdiction, ["database"]);
      const created = args[2] === config.databaseName ? listed.database : listed.shards[shardNamed(config, args[2])];
      if (!created)
        throw new StepError("find the new D1 database's id", wrangler.display(["d1", "list", "--json"]), "");
      found.database = listed.database;
      found.shards = listed.shards;
    }
    recordInConfig(); // at once: a later step's failure leaves wrangler.toml naming what exists
  }
  recordInConfig();

  say("\nApplying the D1 migrations (before the code that needs them):");
  // Every database the same migrations: DB, then each D1 shard (src/db/shards.ts).
  for (const binding of migratedBindings(config))
    await wrangler.step(
      binding === "DB" ? "apply the D1 migrations" : `apply the D1 migrations to ${binding}`,
      ["d1", "migrations", "apply", binding, "--remote"],
      { echo: true },
    );
  say("\nDeploying the Worker:");
  const deployed = await wrangler.step("deploy the Worker", ["deploy"], { echo: true });
  closingWords(config, deployed.stdout);
}

/** The binding of the shard whose database is named `name`. */
function shardNamed(config, name) {
  return config.shards.find((shard) => shard.name === name)?.binding;
}

function readOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        "dry-run": { type: "boolean" },
        jurisdiction: { type: "string" },
        location: { type: "string" },
        name: { type: "string" },
        config: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (parsed.jurisdiction && !JURISDICTIONS.includes(parsed.jurisdiction))
    throw new UsageError(`--jurisdiction ${parsed.jurisdiction}: one of ${JURISDICTIONS.join(", ")}`);
  if (parsed.location && !LOCATIONS.includes(parsed.location))
    throw new UsageError(`--location ${parsed.location}: one of ${LOCATIONS.join(", ")}`);
  if (parsed.name && !/^[a-z0-9][a-z0-9-]{1,45}[a-z0-9]$/.test(parsed.name))
    throw new UsageError(`--name ${parsed.name}: 3 to 47 lowercase letters, digits and hyphens (R2 and Worker names)`);
  return parsed;
}

/** The jurisdiction asked for, or the one wrangler.toml's bucket already lives in. */
function chooseJurisdiction(options, config) {
  const wanted = options.jurisdiction;
  if (wanted && config.bucketJurisdiction && wanted !== config.bucketJurisdiction)
    throw new UsageError(
      `wrangler.toml's bucket ${config.bucketName} is in the jurisdiction "${config.bucketJurisdiction}", and a ` +
        `resource's jurisdiction is fixed when it is created: to move, deploy a new set with --name <prefix> --jurisdiction ${wanted}`,
    );
  const jurisdiction = wanted ?? config.bucketJurisdiction;
  // D1 ignores a location hint inside a jurisdiction, and R2 refuses the two together.
  if (jurisdiction && options.location)
    throw new UsageError(
      `--location and a jurisdiction (${jurisdiction}) do not go together: the jurisdiction already fixes where the data lives`,
    );
  return jurisdiction;
}

// ─── Configuration check ──────────────────────────────────────────────────────────────────────────
// The lead wires issue #19's configuration check in here: `npm run check-config`
// (scripts/check-config.ts) validates wrangler.toml's [vars] with the Worker's zod schema, so a bad
// value stops the deploy before anything on the account changes. Run only where package.json has
// the script, so this works on its own.
function checkConfig(projectDir, configPath) {
  // The file being deployed is the one checked (a copy, a renamed project), not the repository's own.
  npmScript(projectDir, "check-config", "check the configuration (wrangler.toml [vars])", ["--config", configPath]);
}

/** `npm run --silent <script>` in the project, when its package.json has that script. */
function npmScript(projectDir, script, step, args = []) {
  const manifest = path.join(projectDir, "package.json");
  if (!existsSync(manifest) || !JSON.parse(readFileSync(manifest, "utf8")).scripts?.[script]) return;
  const command = ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])];
  say(`${step}: npm ${command.join(" ")}`);
  const result = spawnSync("npm", command, { cwd: projectDir, stdio: "inherit" });
  if (result.status !== 0) throw new StepError(step, `npm ${command.join(" ")}`, "");
}

/** Where the registry answers, and what to do first there. */
function closingWords(config, deployOutput) {
  const workersDev = deployOutput.match(/https:\/\/[a-z0-9.-]+\.workers\.dev/)?.[0];
  const host = config.vars("SERVER_HOSTNAME") || config.customDomain || workersDev?.slice("https://".length);
  const origin = host
    ? `${config.vars("PREFERRED_URL_SCHEME") || "https"}://${host}`
    : "https://<your registry's host>";
  const superuser =
    config
      .vars("SUPER_USERS")
      .split(/[\s,]+/)
      .filter(Boolean)[0] ?? "<a name in SUPER_USERS>";
  say(`
Deployed ${config.workerName}${workersDev ? ` (${workersDev})` : ""}.

First deploy? Create the first superuser now: until an account exists, whoever calls this first
makes it (the name must be listed in SUPER_USERS). Choose a password of 8 characters or more:

  curl -X POST ${origin}/api/v1/user/initialize -H 'Content-Type: application/json' \\
    -d '{"username":"${superuser}","password":"<a password>","email":"<your email>","access_token":true}'

or open ${origin}/ in a browser: on an empty registry it shows the first user's form. Then:

  podman login ${host ?? "<your registry's host>"}`);
}

function reportFailure(error) {
  if (error instanceof StepError) {
    console.error(`\ndeploy: step "${error.step}" failed.`);
    const detail = stripVTControlCharacters(redact(error.detail)).trim();
    if (detail) console.error(detail.replace(/^/gm, "  | "));
    console.error(`\nThe command, to run by hand:\n  ${error.command}`);
    console.error("Once it works, run `npm run deploy` again: what is already done is skipped.");
  } else if (error instanceof WranglerMissing) {
    console.error(`deploy: ${error.message}. Run \`npm ci\` first: wrangler is one of Wharf's devDependencies.`);
  } else if (error instanceof UsageError) {
    console.error(`deploy: ${error.message}\n\n${USAGE}`);
  } else {
    console.error(`deploy: ${redact(error instanceof Error ? error.message : String(error))}`);
  }
}

function say(line) {
  console.log(redact(line));
}
