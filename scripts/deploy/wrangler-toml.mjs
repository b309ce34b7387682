// wrangler.toml, read and edited line by line so that every comment and the file's layout stay as
// the operator wrote them: `npm run deploy` changes a value (the D1 database's id, the bucket's
// jurisdiction, the resources' names) and nothing else. wrangler itself only prints a snippet for
// TOML files (it patches JSON configurations alone), and a TOML library would drop the comments.
// What it reads is what Wharf's wrangler.toml holds: `key = "value"` lines under [tables] and
// [[arrays of tables]].

const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$/;
const STRING_LINE = /^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)"((?:[^"\\]|\\.)*)"(.*)$/;
const KEY_LINE = /^\s*[A-Za-z0-9_-]+\s*=/;

/** The Worker's bindings `npm run deploy` provisions: src/ reads them by these names. */
export const D1_BINDING = "DB";
/** The D1 shards' bindings (src/db/shards.ts): each a database of its own, created and migrated alike. */
export const SHARD_BINDING = /^DB_SHARD_[1-9]\d*$/;
export const R2_BINDING = "BLOBS";

/** Parses `text` into blocks: the top level, then one per [table] or [[array]] header. */
export function parseToml(text) {
  const lines = text.split("\n");
  const blocks = [{ table: "", header: -1, keys: new Map(), last: -1 }];
  lines.forEach((line, index) => {
    const header = line.match(HEADER);
    if (header) {
      blocks.push({ table: header[2], header: index, keys: new Map(), last: index });
      return;
    }
    const block = blocks[blocks.length - 1];
    if (!KEY_LINE.test(line)) return;
    block.last = index;
    const string = line.match(STRING_LINE);
    if (string) block.keys.set(string[2], { line: index, value: unescapeString(string[4]) });
  });
  return { lines, blocks };
}

function unescapeString(value) {
  return value.replace(/\\(["\\])/g, "$1");
}

export function tables(doc, table) {
  return doc.blocks.filter((block) => block.table === table);
}

export function stringAt(block, key) {
  return block?.keys.get(key)?.value;
}

/**
 * Sets `key = "value"` in `block`: in place (the rest of the line, a trailing comment, kept) or, when
 * the block has no such key, as a new line after its last key. Returns the document re-parsed.
 */
export function setValue(doc, block, key, value) {
  const lines = [...doc.lines];
  const quoted = JSON.stringify(value);
  const existing = block.keys.get(key);
  if (existing) {
    const [, indent, , equals, , rest] = lines[existing.line].match(STRING_LINE);
    lines[existing.line] = `${indent}${key}${equals}${quoted}${rest}`;
  } else {
    lines.splice(block.last + 1, 0, `${key} = ${quoted}`);
  }
  return parseToml(lines.join("\n"));
}

export function serialize(doc) {
  return doc.lines.join("\n");
}

/** What the deploy needs from the configuration: names, the id, the jurisdiction, some vars. */
export function deployConfig(doc) {
  const top = doc.blocks[0];
  const d1 = tables(doc, "d1_databases").find((block) => stringAt(block, "binding") === D1_BINDING);
  const r2 = tables(doc, "r2_buckets").find((block) => stringAt(block, "binding") === R2_BINDING);
  if (!d1 || !stringAt(d1, "database_name"))
    throw new Error(`no [[d1_databases]] with binding = "${D1_BINDING}" and a database_name`);
  if (!r2 || !stringAt(r2, "bucket_name"))
    throw new Error(`no [[r2_buckets]] with binding = "${R2_BINDING}" and a bucket_name`);
  const queues = [];
  for (const block of [...tables(doc, "queues.producers"), ...tables(doc, "queues.consumers")]) {
    for (const key of ["queue", "dead_letter_queue"]) {
      const name = stringAt(block, key);
      if (name && !queues.includes(name)) queues.push(name);
    }
  }
  const vars = tables(doc, "vars")[0];
  return {
    workerName: stringAt(top, "name"),
    accountId: stringAt(top, "account_id"),
    databaseName: stringAt(d1, "database_name"),
    databaseId: stringAt(d1, "database_id"),
    shards: shardDatabases(doc),
    bucketName: stringAt(r2, "bucket_name"),
    bucketJurisdiction: stringAt(r2, "jurisdiction"),
    queues,
    vars: (name) => stringAt(vars, name) ?? "",
    customDomain: customDomain(doc),
  };
}

/** The first `routes` entry with `custom_domain = true`, for the closing message. */
function customDomain(doc) {
  for (const line of doc.lines) {
    if (/^\s*#/.test(line) || !/custom_domain\s*=\s*true/.test(line)) continue;
    const pattern = line.match(/pattern\s*=\s*"([^"]+)"/);
    if (pattern) return pattern[1];
  }
  return undefined;
}

/** The shards wrangler.toml declares: binding, database name and id; one without a name is refused. */
function shardDatabases(doc) {
  const shards = [];
  for (const block of tables(doc, "d1_databases")) {
    const binding = stringAt(block, "binding");
    if (!binding || !SHARD_BINDING.test(binding)) continue;
    const name = stringAt(block, "database_name");
    if (!name) throw new Error(`the [[d1_databases]] with binding = "${binding}" has no database_name`);
    shards.push({ binding, name, id: stringAt(block, "database_id") });
  }
  return shards;
}

/** Writes a shard's database id (`binding` DB_SHARD_<n>) into its block. */
export function setShardDatabaseId(doc, binding, id) {
  const d1 = tables(doc, "d1_databases").find((block) => stringAt(block, "binding") === binding);
  return setValue(doc, d1, "database_id", id);
}

export function setDatabaseId(doc, id) {
  const d1 = tables(doc, "d1_databases").find((block) => stringAt(block, "binding") === D1_BINDING);
  return setValue(doc, d1, "database_id", id);
}

export function setBucketJurisdiction(doc, jurisdiction) {
  const r2 = tables(doc, "r2_buckets").find((block) => stringAt(block, "binding") === R2_BINDING);
  return setValue(doc, r2, "jurisdiction", jurisdiction);
}

/**
 * `--name acme`: the Worker and every resource named after it get the new prefix (`wharf` →
 * `acme`, `wharf-blobs` → `acme-blobs`), so a second registry (a staging one) fits in one account.
 */
export function renamePrefix(doc, prefix) {
  const old = stringAt(doc.blocks[0], "name");
  if (!old || old === prefix) return doc;
  const renamed = (value) =>
    value === old ? prefix : value?.startsWith(`${old}-`) ? prefix + value.slice(old.length) : value;
  const targets = [
    [doc.blocks[0], "name"],
    ...tables(doc, "d1_databases").map((block) => [block, "database_name"]),
    ...tables(doc, "r2_buckets").map((block) => [block, "bucket_name"]),
    ...[...tables(doc, "queues.producers"), ...tables(doc, "queues.consumers")].flatMap((block) => [
      [block, "queue"],
      [block, "dead_letter_queue"],
    ]),
  ];
  // Each edit keeps the line count, so the blocks' line numbers stay valid between edits.
  let lines = doc.lines;
  for (const [block, key] of targets) {
    const entry = block.keys.get(key);
    if (!entry || renamed(entry.value) === entry.value) continue;
    const [, indent, , equals, , rest] = lines[entry.line].match(STRING_LINE);
    lines = lines.with(entry.line, `${indent}${key}${equals}${JSON.stringify(renamed(entry.value))}${rest}`);
  }
  return parseToml(lines.join("\n"));
}
