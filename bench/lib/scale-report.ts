/**
 * The report's section on D1 storage: bytes per row of the tables a registry grows, what one tag
 * and one image cost, and where that puts one D1 database's 10 GB ceiling.
 */
import { fmt } from "./report";
import { totalBytes, type D1Size, type Growth, type TableSize } from "./d1-size";

/** D1's maximum database size (Workers Paid), bytes: "10 GB" in Cloudflare's limits, decimal. */
export const D1_MAX_BYTES = 10e9;

/** The tables that grow with pushes and pulls, in the order the section lists them. */
export const CORE_TABLES = [
  "repositories",
  "tags",
  "manifests",
  "manifest_references",
  "manifest_labels",
  "blobs",
  "repository_blobs",
  "action_logs",
];

const GB = 1e9;
/** Layers of the typical image the derived line assumes. */
const LAYERS = 5;
/**
 * Below this many rows a table's few pages are mostly free space: its bytes per row are then the
 * bytes in use, not the pages (marked so in the table).
 */
const FEW_ROWS = 1000;
const perRow = (t: TableSize) =>
  t.rows <= 0 ? NaN : (t.rows < FEW_ROWS ? t.usedBytes : t.tableBytes + t.indexBytes) / t.rows;

export function renderScale(size: D1Size, growths: Growth[]): string[] {
  const lines = [
    "## D1 storage: bytes per row, and one database's ceiling",
    "",
    `Measured on the local D1 file after the run (SQLite dbstat: page bytes of each table and of its indexes, so free space inside pages counts, as it does against D1's limit; * marks a table of fewer than ${FEW_ROWS.toLocaleString("en-US")} rows, whose bytes per row are the bytes in use instead). The growth lines are the database's growth over a workload's seeding, divided by what it wrote; action_logs rows stay for ACTION_LOG_RETENTION and delivered_events rows are swept by the cron.`,
    "",
    "| table | rows | table bytes | index bytes | bytes per row (table + indexes) |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const listed = [...CORE_TABLES, ...Object.keys(size).filter((t) => !CORE_TABLES.includes(t))];
  for (const table of listed) {
    const t = size[table];
    // The rest only when it holds enough to matter (pull statistics, outbox, …).
    if (!t || (!CORE_TABLES.includes(table) && t.tableBytes + t.indexBytes < 64 * 1024)) continue;
    lines.push(
      `| ${table} | ${t.rows.toLocaleString("en-US")} | ${t.tableBytes.toLocaleString("en-US")} | ${t.indexBytes.toLocaleString("en-US")} | ${fmt(perRow(t))}${t.rows < FEW_ROWS ? "*" : ""} |`,
    );
  }
  lines.push("", `All tables: ${fmt(totalBytes(size) / 1e6)} MB.`, "");
  const tag = size.tags;
  if (tag && tag.rows > 0) {
    const bytes = perRow(tag);
    lines.push(
      `- A billion tag rows at ${fmt(bytes)} bytes each: ${fmt((bytes * 1e9) / GB)} GB of tags alone, ${fmt((bytes * 1e9) / D1_MAX_BYTES)}× one D1 database; one database holds ${fmt(D1_MAX_BYTES / bytes / 1e6)} million tag rows and nothing else.`,
    );
  }
  for (const { unit, count, growth } of growths) {
    const bytes = totalBytes(growth) / count;
    const parts = Object.entries(growth)
      .map(([table, t]) => [table, (t.tableBytes + t.indexBytes) / count, t.rows / count] as const)
      .filter(([, b]) => b > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([table, b, rows]) => `${table} ${fmt(b)} (${fmt(rows)} rows)`);
    lines.push(
      `- Per ${unit} (growth over ${count.toLocaleString("en-US")} of them): ${fmt(bytes)} bytes: ${parts.join(", ")}.`,
    );
    if (unit.startsWith("repository")) {
      lines.push(
        `  10 million repositories of one such image: ${fmt((bytes * 1e7) / GB)} GB, ${fmt((bytes * 1e7) / D1_MAX_BYTES)}× one D1 database; one database holds ${fmt(D1_MAX_BYTES / bytes / 1e6)} million of them.`,
      );
    }
    if (unit.startsWith("tag")) {
      lines.push(
        `  A billion tag PUTs (the tag row and what each writes beside it): ${fmt((bytes * 1e9) / GB)} GB, ${fmt((bytes * 1e9) / D1_MAX_BYTES)}× one D1 database.`,
      );
    }
  }
  // A layer adds a blobs row (content-addressed: once per registry), a repository_blobs link and
  // a manifest_references row of the manifest that lists it.
  const parts = ["blobs", "repository_blobs", "manifest_references"].map((t) => size[t]);
  if (parts.every((t) => t && t.rows > 0)) {
    const layer = parts.reduce((sum, t) => sum + perRow(t!), 0);
    lines.push(`- Per layer: a blobs row, a repository_blobs row and a manifest_references row, ${fmt(layer)} bytes.`);
    const repository = growths.find((g) => g.unit.startsWith("repository"));
    if (repository) {
      // Derived, not measured: the repository of one image above, plus its own config blob's row
      // and LAYERS layers of new blobs.
      const image = totalBytes(repository.growth) / repository.count + perRow(size.blobs!) + LAYERS * layer;
      lines.push(
        `- Derived: a new repository with one image of its own config and ${LAYERS} new layers, about ${fmt(image)} bytes; 10 million of them ${fmt((image * 1e7) / GB)} GB, ${fmt((image * 1e7) / D1_MAX_BYTES)}× one D1 database; one database holds ${fmt(D1_MAX_BYTES / image / 1e6)} million.`,
      );
    }
  }
  lines.push("");
  return lines;
}
