/**
 * A small parser of Prometheus' text exposition format 0.0.4, strict where Wharf's output must be:
 * every sample belongs to a metric declared by `# HELP` and `# TYPE` lines before it, a counter's
 * name ends `_total`, label values are quoted with the format's escapes, values are numbers.
 * Returns each sample by its series key as written (`name{a="x"}`) and each metric's type.
 */
import { expect } from "vitest";

export interface Exposition {
  samples: Map<string, number>;
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

export function parseExposition(text: string): Exposition {
  expect(text.endsWith("\n"), "ends with a newline").toBe(true);
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helped = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const help = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/);
    if (help) {
      helped.add(help[1]!);
      continue;
    }
    const type = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/);
    if (type) {
      expect(helped.has(type[1]!), `HELP before TYPE of ${type[1]}`).toBe(true);
      expect(types.has(type[1]!), `one TYPE line for ${type[1]}`).toBe(false);
      if (type[2] === "counter") expect(type[1], "a counter's name").toMatch(/_total$/);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = line.match(SAMPLE);
    expect(sample, `a sample line: ${line}`).not.toBeNull();
    const [, name, , labels, value] = sample!;
    expect(types.has(name!), `TYPE declared before ${name}`).toBe(true);
    let rest = labels ?? "";
    while (rest.length > 0) {
      const label = rest.match(LABEL);
      expect(label, `labels of ${line}`).not.toBeNull();
      rest = rest.slice(label![0].length);
    }
    const number = Number(value);
    expect(Number.isNaN(number), `value of ${line}`).toBe(false);
    expect(samples.has(line.slice(0, line.lastIndexOf(" "))), `one sample per series: ${line}`).toBe(false);
    samples.set(line.slice(0, line.lastIndexOf(" ")), number);
  }
  return { samples, types };
}
