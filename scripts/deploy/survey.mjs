// What already exists on the account, asked with wrangler's read-only commands only: the login,
// the D1 databases, the R2 buckets, the queues and the Worker's secrets.
import { bucketNames, jsonOutput, StepError, tableRows, workerNotFound } from "./wrangler-cli.mjs";

/**
 * The account wrangler deploys to. Not logged in, or several accounts and none chosen (wrangler
 * would stop half-way at the first command needing one, since it cannot ask here): a clear error.
 */
export async function readAccount(wrangler, config) {
  const result = await wrangler.run(["whoami", "--json"]);
  let user;
  try {
    user = jsonOutput(result.stdout);
  } catch {
    user = undefined;
  }
  if (user?.loggedIn === false)
    throw new StepError(
      "check that wrangler is logged in",
      "npx wrangler login",
      "wrangler is not logged in: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN to an API token allowed to edit Workers, D1, R2 and Queues).",
    );
  if (result.code !== 0 || !user)
    throw new StepError(
      "check that wrangler is logged in",
      wrangler.display(["whoami"]),
      result.stdout + result.stderr,
    );
  const accounts = user.accounts ?? [];
  const chosen = process.env.CLOUDFLARE_ACCOUNT_ID ?? config.accountId;
  if (chosen) return accounts.find((account) => account.id === chosen)?.name ?? chosen;
  if (accounts.length > 1)
    throw new StepError(
      "choose the Cloudflare account",
      "export CLOUDFLARE_ACCOUNT_ID=<id>",
      `This login reaches ${accounts.length} accounts; say which one gets the registry (CLOUDFLARE_ACCOUNT_ID, or account_id in wrangler.toml):\n` +
        accounts.map((account) => `  ${account.id}  ${account.name}`).join("\n"),
    );
  return accounts[0] ? `${accounts[0].name} (${accounts[0].id})` : (user.email ?? "logged in");
}

/** The resources wrangler.toml names that exist already (`parts` limits what is asked). */
export async function survey(wrangler, config, jurisdiction, parts = ["database", "bucket", "queues", "secrets"]) {
  const found = { database: undefined, shards: {}, bucket: false, queues: [], secrets: [] };
  if (parts.includes("database")) {
    const listed = await wrangler.step("list the D1 databases", ["d1", "list", "--json"]);
    const databases = jsonOutput(listed.stdout);
    found.database = databases.find((db) => db.name === config.databaseName);
    // The D1 shards (DB_SHARD_<n>) wrangler.toml declares, by binding: undefined until created.
    for (const shard of config.shards) found.shards[shard.binding] = databases.find((db) => db.name === shard.name);
    if (found.database && jurisdiction && found.database.jurisdiction && found.database.jurisdiction !== jurisdiction)
      console.warn(
        `warning: the D1 database ${config.databaseName} exists in the jurisdiction ${found.database.jurisdiction}, not ${jurisdiction}`,
      );
  }
  if (parts.includes("bucket")) {
    // Buckets in a jurisdiction are listed only when it is named.
    const args = ["r2", "bucket", "list", ...(jurisdiction ? ["--jurisdiction", jurisdiction] : [])];
    found.bucket = bucketNames((await wrangler.step("list the R2 buckets", args)).stdout).includes(config.bucketName);
  }
  if (parts.includes("queues")) found.queues = await queueNames(wrangler, config.queues);
  if (parts.includes("secrets")) {
    const listed = await wrangler.run(["secret", "list"]);
    // A Worker never deployed has no secrets yet: wrangler says it is not found.
    if (listed.code === 0) found.secrets = jsonOutput(listed.stdout).map((secret) => secret.name);
    else if (!workerNotFound(listed))
      throw new StepError(
        "list the Worker's secrets",
        wrangler.display(["secret", "list"]),
        listed.stdout + listed.stderr,
      );
  }
  return found;
}

/** `wrangler queues list` shows one page at a time: pages until `wanted` are all seen or one is empty. */
async function queueNames(wrangler, wanted) {
  const names = [];
  for (let page = 1; page <= 100; page++) {
    const args = ["queues", "list", "--page", String(page)];
    const rows = tableRows((await wrangler.step("list the queues", args)).stdout);
    names.push(...rows.map((row) => row.name));
    if (rows.length === 0 || wanted.every((queue) => names.includes(queue))) break;
  }
  return names;
}
