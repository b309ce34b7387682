/** The Markdown report: a header naming the machine and versions, then one table per workload. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../test/e2e/helpers/server";
import { median } from "./registry";
import type { Sample, Side } from "./workload";

export interface Row extends Omit<Sample, "value"> {
  values: Record<Side, number[]>;
}

export interface Section {
  title: string;
  rows: Row[];
  notes: Set<string>;
  errors: string[];
}

export function addSample(section: Section, side: Side, sample: Sample): void {
  let row = section.rows.find((r) => r.figure === sample.figure && r.unit === sample.unit);
  if (!row) {
    row = { figure: sample.figure, unit: sample.unit, better: sample.better, values: { wharf: [], reference: [] } };
    section.rows.push(row);
  }
  row.values[side].push(sample.value);
}

const tryRun = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return "unknown";
  }
};
const versionOf = (pkg: string) =>
  JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;

/** The facts that make two reports comparable, gathered when the run starts. */
export function machine(): [string, string][] {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const dirty =
    tryRun("git", ["status", "--porcelain", "--", "src", "durable-objects", "scripts", "wrangler.toml"]) !== "";
  return [
    ["date", new Date().toISOString()],
    ["CPU", `${tryRun("nproc", [])} × ${cpu}`],
    ["RAM", `${(memKiB / 1024 ** 2).toFixed(1)} GiB`],
    ["kernel", `${os.type()} ${os.release()}`],
    [
      "load average at start",
      os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(", "),
    ],
    ["node", process.version],
    ["workerd", tryRun(path.join(ROOT, "node_modules", ".bin", "workerd"), ["--version"])],
    ["wrangler / miniflare", `${versionOf("wrangler")} / ${versionOf("miniflare")}`],
    ["reference", tryRun("docker-registry", ["--version"])],
    ["skopeo", tryRun("skopeo", ["--version"])],
    ["Wharf commit", `${tryRun("git", ["rev-parse", "--short", "HEAD"])}${dirty ? " with uncommitted changes" : ""}`],
  ];
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1 || abs === 0) return value.toFixed(abs === 0 ? 0 : 2);
  return value.toPrecision(2);
}

function cell(values: number[]): string {
  if (values.length === 0) return "—";
  if (values.length === 1) return fmt(values[0]!);
  return `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
}

export function render(title: string, header: [string, string][], sections: Section[], notes: string[]): string {
  const lines = [
    `# ${title}`,
    "",
    "| | |",
    "| --- | --- |",
    ...header.map(([k, v]) => `| ${k} | ${v} |`),
    "",
    ...notes,
    "",
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, "");
    for (const error of section.errors) lines.push(`**ERROR:** ${error.split("\n")[0]}`, "");
    for (const note of section.notes) lines.push(`Note: ${note}`, "");
    if (section.rows.length === 0) continue;
    lines.push("| figure | Wharf | reference | Wharf / reference |", "| --- | ---: | ---: | ---: |");
    for (const row of section.rows) {
      const [w, r] = [median(row.values.wharf), median(row.values.reference)];
      const ratio = Number.isFinite(w / r) ? (w / r).toFixed(2) : "—";
      lines.push(
        `| ${row.figure} (${row.unit}) ${row.better === "higher" ? "↑" : "↓"} | ${cell(row.values.wharf)} | ${cell(row.values.reference)} | ${ratio} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}
