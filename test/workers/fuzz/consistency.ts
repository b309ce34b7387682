/**
 * What a fuzzing run must leave true in D1, whatever it sent: the invariants the schema makes
 * checkable (src/db/schema.ts). A request refused halfway through must not have written half of its
 * change; these queries find the halves.
 *
 * Not checked here: upload sessions live in each repository's Durable Object storage, not in D1
 * (src/registry/uploads.ts), and are covered by the upload tests.
 */
import { env } from "cloudflare:workers";
import { clock } from "../../../src/lib/clock";

/** Each invariant: what it says, and a query returning the rows that break it. */
const INVARIANTS: readonly (readonly [string, string])[] = [
  [
    "every tag points at a manifest of its own repository",
    `select t.id, t.name from tags t left join manifests m on m.id = t.manifest_id
      where m.id is null or m.repository_id != t.repository_id`,
  ],
  [
    "every alive tag points at a manifest not deleted",
    `select t.id, t.name from tags t join manifests m on m.id = t.manifest_id
      where (t.lifetime_end_ms is null or t.lifetime_end_ms > ?1) and m.deleted_at is not null`,
  ],
  [
    "the lifetimes of one tag name never overlap",
    `select a.id, b.id from tags a join tags b
        on a.repository_id = b.repository_id and a.name = b.name and a.id < b.id
      where coalesce(a.lifetime_end_ms, 9e18) > b.lifetime_start_ms
        and coalesce(b.lifetime_end_ms, 9e18) > a.lifetime_start_ms
        and a.lifetime_start_ms != coalesce(a.lifetime_end_ms, 9e18)
        and b.lifetime_start_ms != coalesce(b.lifetime_end_ms, 9e18)`,
  ],
  [
    "every blob a live manifest names is a blob its repository links",
    `select m.id, r.digest from manifest_references r join manifests m on m.id = r.manifest_id
      left join repository_blobs l on l.repository_id = m.repository_id and l.digest = r.digest
      left join blobs b on b.digest = r.digest
      where r.kind = 'blob' and m.deleted_at is null and (l.digest is null or b.digest is null)`,
  ],
  [
    "every manifest an index names is a manifest of its repository",
    `select m.id, r.digest from manifest_references r join manifests m on m.id = r.manifest_id
      left join manifests c on c.repository_id = m.repository_id and c.digest = r.digest
      where r.kind = 'manifest' and c.id is null`,
  ],
  [
    "every linked blob is a recorded blob",
    `select l.repository_id, l.digest from repository_blobs l left join blobs b on b.digest = l.digest
      where b.digest is null`,
  ],
  [
    "every manifest and tag belongs to a repository",
    `select 'manifest', m.id from manifests m left join repositories r on r.id = m.repository_id where r.id is null
     union all
     select 'tag', t.id from tags t left join repositories r on r.id = t.repository_id where r.id is null`,
  ],
  [
    // src/quota/usage.ts keeps the usage exact in each commit's batch: each blob the repository's
    // manifests reference counted once, plus each manifest digest once (deleted ones too, until
    // garbage collection removes them).
    "each repository's storage bytes equal the recount",
    `select r.name, r.storage_bytes, (
        coalesce((select sum(b.size) from blobs b where b.digest in (
          select x.digest from manifest_references x join manifests m on m.id = x.manifest_id
          where x.kind = 'blob' and m.repository_id = r.id)), 0)
        + coalesce((select sum(size) from (select distinct m.digest, m.size from manifests m
          where m.repository_id = r.id)), 0)) as recount
      from repositories r where recount != r.storage_bytes`,
  ],
  [
    "each namespace's usage equals the recount over its repositories",
    `select u.username, u.storage_bytes, (
        coalesce((select sum(b.size) from blobs b where b.digest in (
          select x.digest from manifest_references x join manifests m on m.id = x.manifest_id
          join repositories p on p.id = m.repository_id where x.kind = 'blob' and p.namespace = u.username)), 0)
        + coalesce((select sum(size) from (select distinct m.digest, m.size from manifests m
          join repositories p on p.id = m.repository_id where p.namespace = u.username)), 0)) as recount
      from users u where recount != u.storage_bytes`,
  ],
  [
    "every repository's namespace is an account",
    `select r.name from repositories r left join users u on u.username = r.namespace where u.id is null`,
  ],
];

/** The invariants D1 breaks now, each with a few of the rows that break it (none: an empty list). */
export async function brokenInvariants(): Promise<string[]> {
  const broken: string[] = [];
  for (const [what, query] of INVARIANTS) {
    const statement = query.includes("?1") ? env.DB.prepare(query).bind(clock.now()) : env.DB.prepare(query);
    const { results } = await statement.all();
    if (results.length > 0) broken.push(`${what}: ${JSON.stringify(results.slice(0, 5))}`);
  }
  return broken;
}
