// Empties what a test file leaves in the bindings, so that the next file in the same workerd
// starts as on a fresh deployment (test/workers/setup.ts). The plugin's reset() covers neither the
// D1 and R2 simulators nor, here, the Worker's own Durable Objects, so each is handled through its
// binding.
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";

/** Deletes every row of every table, keeping the schema and the migration records. */
export async function emptyDatabase(db: D1Database): Promise<void> {
  // sqlite_sequence is emptied too: AUTOINCREMENT ids start again at 1, as in a new database.
  const tables = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'sqlite_sequence' OR name NOT LIKE 'sqlite_%') AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
    )
    .all<{ name: string }>();
  // One batch is one transaction; foreign keys are checked at its end, when every table is empty.
  await db.batch([
    db.prepare("PRAGMA defer_foreign_keys = on"),
    ...tables.results.map(({ name }) => db.prepare(`DELETE FROM "${name}"`)),
  ]);
}

/** Deletes every object (an unfinished multipart upload has a random key and is never listed). */
export async function emptyBucket(bucket: R2Bucket): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ cursor, limit: 1000 });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((object) => object.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

interface DurableObjectRecord {
  /** The file being set up: the prefix of every Durable Object name it asks for. */
  file: number;
  /** Per binding: the ids of objects made by earlier files, already emptied. */
  emptied: Map<string, Set<string>>;
  /** Per binding: the namespace's own idFromName. */
  idFromName: Map<string, (name: string) => DurableObjectId>;
}
const RECORD = Symbol.for("wharf.test-durable-objects");

/**
 * Gives this file Durable Objects of its own: every name the tests or the Worker ask for is
 * prefixed with the file's number, so no object of an earlier file answers. Deleting every
 * object's data would be enough only if it could be done in one call: the plugin's reset() skips
 * namespaces kept from eviction, and emptying each object ever made, file after file, grows with
 * the run. The objects the last file made are emptied instead (storage and alarm), so none wakes
 * later to act. The binding is one object for the tests, the Worker and its Durable Objects, so
 * the own property stands for it everywhere.
 */
export async function freshDurableObjects(env: object): Promise<void> {
  const globals = globalThis as { [RECORD]?: DurableObjectRecord };
  globals[RECORD] ??= { file: 0, emptied: new Map(), idFromName: new Map() };
  const record = globals[RECORD];
  record.file += 1;
  const prefix = `file-${record.file}/`;
  await Promise.all(
    Object.entries(env).map(async ([binding, namespace]) => {
      if (!isNamespace(namespace)) return;
      const emptied = record.emptied.get(binding) ?? new Set<string>();
      record.emptied.set(binding, emptied);
      const made = (await listDurableObjectIds(namespace)).filter((id) => !emptied.has(id.toString()));
      await Promise.all(
        made.map((id) =>
          runInDurableObject(namespace.get(id), async (_instance: unknown, state: DurableObjectState) => {
            await state.storage.deleteAlarm();
            await state.storage.deleteAll();
          }),
        ),
      );
      for (const id of made) emptied.add(id.toString());
      let idFromName = record.idFromName.get(binding);
      if (!idFromName) {
        idFromName = namespace.idFromName.bind(namespace);
        record.idFromName.set(binding, idFromName);
      }
      const own = idFromName;
      Object.assign(namespace, { idFromName: (name: string) => own(prefix + name) });
    }),
  );
}

// Service bindings answer any property name with a callable (JS RPC), so the type is asked by name.
function isNamespace(value: unknown): value is DurableObjectNamespace {
  return typeof value === "object" && value !== null && value.constructor?.name === "DurableObjectNamespace";
}
