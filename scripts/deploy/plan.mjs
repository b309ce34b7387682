// The plan `npm run deploy` prints and follows: one line per resource, exists or to be made, with
// the wrangler command that makes it (the README's "Deploying" by-hand sequence).
import { generateKeyPairSync, randomBytes } from "node:crypto";

/** The secrets the Worker cannot start without, made as the README's "Deploying" makes them. */
export const SECRETS = {
  // openssl rand -base64 32
  WHARF_SECRET_KEY: () => randomBytes(32).toString("base64"),
  // the ES256 token-signing key, a P-256 private JWK
  WHARF_TOKEN_KEY: () =>
    JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
};
export const SECRET_BY_HAND = {
  WHARF_SECRET_KEY: "openssl rand -base64 32 | ",
  WHARF_TOKEN_KEY: `node -e 'const {generateKeyPairSync}=require("crypto");console.log(JSON.stringify(generateKeyPairSync("ec",{namedCurve:"P-256"}).privateKey.export({format:"jwk"})))' | `,
};

/**
 * [action, what, wrangler args] per step: "exists" (nothing to do), "create", "put" (a secret),
 * "write" (a value into wrangler.toml), "apply" (migrations), "deploy".
 */
export function planSteps(config, found, options, jurisdiction) {
  const writes = [];
  if (found.database && found.database.uuid !== config.databaseId)
    writes.push(["write", `database_id = "${found.database.uuid}" into wrangler.toml`]);
  for (const shard of config.shards) {
    const made = found.shards[shard.binding];
    if (made && made.uuid !== shard.id)
      writes.push(["write", `database_id = "${made.uuid}" into the ${shard.binding} binding in wrangler.toml`]);
  }
  if (jurisdiction && config.bucketJurisdiction !== jurisdiction)
    writes.push(["write", `jurisdiction = "${jurisdiction}" into the bucket's binding in wrangler.toml`]);
  return [
    ...writes,
    found.database
      ? ["exists", `D1 database ${config.databaseName} (${found.database.uuid})`]
      : [
          "create",
          `D1 database ${config.databaseName}`,
          ["d1", "create", config.databaseName, ...placement(options, jurisdiction)],
        ],
    // The D1 shards (src/db/shards.ts), each placed as DB is.
    ...config.shards.map((shard) =>
      found.shards[shard.binding]
        ? ["exists", `D1 database ${shard.name} (${found.shards[shard.binding].uuid})`]
        : ["create", `D1 database ${shard.name}`, ["d1", "create", shard.name, ...placement(options, jurisdiction)]],
    ),
    found.bucket
      ? ["exists", `R2 bucket ${config.bucketName}${jurisdiction ? ` (${jurisdiction})` : ""}`]
      : [
          "create",
          `R2 bucket ${config.bucketName}`,
          ["r2", "bucket", "create", config.bucketName, ...placement(options, jurisdiction)],
        ],
    ...config.queues.map((queue) =>
      found.queues.includes(queue)
        ? ["exists", `queue ${queue}`]
        : [
            "create",
            `queue ${queue}`,
            ["queues", "create", queue, ...(jurisdiction ? ["--jurisdiction", jurisdiction] : [])],
          ],
    ),
    ...Object.keys(SECRETS).map((name) =>
      found.secrets.includes(name)
        ? ["exists", `secret ${name}`]
        : ["put", `secret ${name} (generated)`, ["secret", "put", name]],
    ),
    ...migratedBindings(config).map((binding) => [
      "apply",
      `D1 migrations not yet applied${binding === "DB" ? "" : ` (${binding})`}`,
      ["d1", "migrations", "apply", binding, "--remote"],
    ]),
    ["deploy", `the Worker ${config.workerName}`, ["deploy"]],
  ];
}

/** The D1 bindings whose databases get the migrations: DB, then each shard; one migrations_dir for all. */
export function migratedBindings(config) {
  return ["DB", ...config.shards.map((shard) => shard.binding)];
}

/** Where a new D1 database or R2 bucket goes: a jurisdiction (a guarantee) or a location hint. */
function placement(options, jurisdiction) {
  if (jurisdiction) return ["--jurisdiction", jurisdiction];
  return options.location ? ["--location", options.location] : [];
}

/** Secrets an enabled feature needs and wrangler.toml cannot hold: named, never generated. */
export function secretNotes(config, secrets) {
  const notes = [];
  if (config.vars("FEATURE_SECURITY_SCANNER") === "true" && !secrets.includes("SECURITY_SCANNER_V4_PSK"))
    notes.push("FEATURE_SECURITY_SCANNER is on: `npx wrangler secret put SECURITY_SCANNER_V4_PSK` (Clair's PSK)");
  if (config.vars("ACTION_LOG_SINK_URL") && !secrets.includes("ACTION_LOG_SINK_TOKEN"))
    notes.push("ACTION_LOG_SINK_URL is set: `npx wrangler secret put ACTION_LOG_SINK_TOKEN` (the collector's token)");
  if (config.vars("BLOB_REDIRECT") === "true") {
    // An R2 API token (Object Read on the bucket) gives the S3 key pair blob redirects are presigned with.
    for (const name of ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"].filter((name) => !secrets.includes(name)))
      notes.push(`BLOB_REDIRECT is on: \`npx wrangler secret put ${name}\` (an R2 API token's S3 credentials)`);
    if (config.vars("R2_BUCKET_NAME") !== config.bucketName)
      notes.push(`BLOB_REDIRECT is on: R2_BUCKET_NAME should be "${config.bucketName}", the BLOBS bucket`);
  }
  return notes;
}
