/**
 * The Prometheus text exposition format, version 0.0.4 (`text/plain; version=0.0.4`): for each
 * metric of the catalogue a `# HELP` and a `# TYPE` line, then its samples, one `key value` line
 * each. A counter without labels shows 0 before its first increment, so a rate starts from a sample.
 */
import type { MetricsSnapshot } from "../../durable-objects/MetricsDO";
import { METRICS, metricOfSeries, type MetricDefinition } from "./catalogue";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** HELP text escaping: backslash and newline. */
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** A sample value: integers as written, other numbers in JavaScript's shortest round-trip form. */
const sampleValue = (value: number) => (Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "-Inf");

export function renderExposition(snapshot: MetricsSnapshot): string {
  const samples = new Map<string, string[]>();
  const add = (key: string, value: number) => {
    const name = metricOfSeries(key);
    if (!Object.hasOwn(METRICS, name)) return; // a series of a metric since retired
    const lines = samples.get(name) ?? [];
    lines.push(`${key} ${sampleValue(value)}`);
    samples.set(name, lines);
  };
  for (const { key, value } of [...snapshot.counters, ...snapshot.gauges]) add(key, value);
  const out: string[] = [];
  for (const [name, definition] of Object.entries(METRICS) as [string, MetricDefinition][]) {
    out.push(`# HELP ${name} ${escapeHelp(definition.help)}`, `# TYPE ${name} ${definition.type}`);
    const lines = samples.get(name) ?? [];
    if (lines.length === 0 && definition.labels.length === 0 && definition.type === "counter") lines.push(`${name} 0`);
    out.push(...lines.sort());
  }
  return `${out.join("\n")}\n`;
}
